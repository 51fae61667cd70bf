import { OutboxConfigError, signalLocalCommit, type DatabaseFamily } from '@outboxkit/core';
import { MysqlAdapter, PostgresAdapter, SqliteAdapter, type DatabaseConnection, type Dialect, type DialectAdapter, type Driver } from 'kysely';

/** What one open transaction of a connection has done, from BEGIN to COMMIT/ROLLBACK. */
interface OpenTransaction {
  wroteEvents: boolean;
}

/** Connections of `withOutbox` dialects with an open transaction. */
const openTransactions = new WeakMap<DatabaseConnection, OpenTransaction>();

/** The adapters `withOutbox` dialects created, with their database family. */
const familyOfAdapter = new WeakMap<DialectAdapter, DatabaseFamily>();

/** Kysely's adapter classes (third-party dialects of these databases reuse them) -> the database family. */
const ADAPTER_FAMILIES: readonly [abstract new (...args: any[]) => DialectAdapter, DatabaseFamily][] = [
  [PostgresAdapter, 'postgres'],
  [MysqlAdapter, 'mysql'],
  [SqliteAdapter, 'sqlite'],
];

/**
 * Wraps a Kysely dialect so that outboxkit sees its transactions begin and end: a commit of a
 * transaction that wrote outbox events wakes relays in this process, once, after COMMIT
 * succeeded; rollbacks, savepoint releases and transactions without events do not. Everything
 * else is the dialect's own. Kysely has no transaction hooks; its `Driver` is where it begins,
 * commits and rolls back, for `db.transaction().execute(...)` and `db.startTransaction()` alike.
 *
 * @example
 * const db = new Kysely<DB>({ dialect: withOutbox(new PostgresDialect({ pool })) });
 */
export function withOutbox(dialect: Dialect): Dialect {
  if (dialect === null || typeof dialect !== 'object' || typeof (dialect as Partial<Dialect>).createDriver !== 'function') {
    throw new OutboxConfigError('dialect', 'withOutbox expects a Kysely dialect, e.g. withOutbox(new PostgresDialect({ pool }))');
  }
  return {
    createDriver: () => committingDriver(dialect.createDriver()),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createAdapter() {
      const adapter = dialect.createAdapter();
      const family = ADAPTER_FAMILIES.find(([type]) => adapter instanceof type)?.[1];
      if (family === undefined) {
        throw new OutboxConfigError(
          'dialect',
          `the Kysely dialect's adapter (${adapter.constructor.name}) is not PostgreSQL's, MySQL's or SQLite's; outboxkit has dialects for those three databases`,
        );
      }
      familyOfAdapter.set(adapter, family);
      return adapter;
    },
    createIntrospector: (db) => dialect.createIntrospector(db),
  };
}

function committingDriver(driver: Driver): Driver {
  return {
    init: (options) => driver.init(options),
    acquireConnection: (options) => driver.acquireConnection(options),
    releaseConnection: (connection, options) => driver.releaseConnection(connection, options),
    destroy: (options) => driver.destroy(options),
    async beginTransaction(connection, settings) {
      await driver.beginTransaction(connection, settings);
      openTransactions.set(connection, { wroteEvents: false });
    },
    async commitTransaction(connection) {
      const transaction = openTransactions.get(connection);
      openTransactions.delete(connection);
      await driver.commitTransaction(connection);
      if (transaction?.wroteEvents) signalLocalCommit();
    },
    async rollbackTransaction(connection) {
      openTransactions.delete(connection);
      await driver.rollbackTransaction(connection);
    },
    // Kysely checks for these before calling them: keep them absent where the driver has none.
    savepoint: driver.savepoint?.bind(driver),
    rollbackToSavepoint: driver.rollbackToSavepoint?.bind(driver),
    releaseSavepoint: driver.releaseSavepoint?.bind(driver),
  };
}

/** The open transaction on `connection`, or undefined when it has none (or is not a `withOutbox` dialect's). */
export function openTransactionOf(connection: DatabaseConnection): OpenTransaction | undefined {
  return openTransactions.get(connection);
}

/** The database family of a Kysely instance built on a `withOutbox` dialect, or undefined. */
export function familyOf(adapter: DialectAdapter): DatabaseFamily | undefined {
  return familyOfAdapter.get(adapter);
}
