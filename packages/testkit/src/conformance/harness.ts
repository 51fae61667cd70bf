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
 * What a dialect package gives the conformance suite: how to make an isolated, migrated
 * database and how to build its dialect from table options. Nothing else about the database is
 * known to the suite; what differs is read from `dialect.capabilities`.
 */
export interface DialectHarness {
  readonly name: string;
  setup(): Promise<ConformanceDatabase>;
  /** Builds the dialect without I/O, for the configuration checks. */
  createDialect(tables: TableOptions): Dialect;
}
