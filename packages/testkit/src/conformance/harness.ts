import type { Dialect, SqlDatabase, TableOptions } from '@outboxkit/core';

/** One isolated set of outbox tables (a schema, a database or a file), migrated. */
export interface ConformanceDatabase {
  readonly dialect: Dialect;
  /** The pool the first relay and the writers use. */
  readonly database: SqlDatabase;
  /** Another independent pool on the same tables, for a second relay. The harness closes it on dispose. */
  openPool(): Promise<SqlDatabase>;
  /** Closes every pool and drops what `setup` created. */
  dispose(): Promise<void>;
}

/**
 * What a database can do that the suite's cases depend on, declared by the package that runs
 * the suite (as Watermill's pub/sub tests take a `Features` object): a case that needs a
 * feature runs only where it is declared, and never by database name.
 */
export interface DialectFeatures {
  /**
   * Transactions on different connections write at the same time, so one can commit after
   * later ones were published (PostgreSQL, MySQL). False where the database has one writer at
   * a time (SQLite), which serialises commits.
   */
  readonly concurrentWriters: boolean;
}

/**
 * What a dialect package gives the conformance suite: how to make an isolated, migrated
 * database, how to build its dialect from table options, and the features it has. Nothing else
 * about the database is known to the suite.
 */
export interface DialectHarness {
  readonly name: string;
  readonly features: DialectFeatures;
  setup(): Promise<ConformanceDatabase>;
  /** Builds the dialect without I/O, for the configuration checks. */
  createDialect(tables: TableOptions): Dialect;
}
