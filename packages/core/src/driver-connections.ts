import { importDialectPackage, type DatabaseFamily, type PluginImport } from './database-families.js';
import type { WriterDialect } from './dialect.js';
import type { EventMap } from './envelope.js';
import { serialByKey } from './serial-by-key.js';
import type { SqlExecutor } from './sql.js';
import { writeEvents, type EventsInput, type WrittenEvent } from './write.js';

/** Runs the outbox statements on one raw driver connection, the one a transaction holds. */
export type ConnectionExecutor = (connection: unknown) => SqlExecutor;

/** The executors each family's dialect package exports (structural: core never imports a dialect package). */
interface DialectPackageExecutors {
  postgres: { pgExecutor(connection: never): SqlExecutor };
  mysql: { mysqlExecutor(connection: never): SqlExecutor };
  sqlite: { sqliteExecutor(connection: never): SqlExecutor };
}

/** mysql2's callback-style connection (`mysql2`, not `mysql2/promise`). */
interface Mysql2CallbackConnection {
  promise(): unknown;
}

/**
 * How each family's dialect package runs statements on the connection most query builders and
 * ORMs hold for a transaction: a `pg` Client, a `mysql2` connection, a `better-sqlite3` Database.
 * The executors are the dialect packages' own, so a plugin's write runs exactly as the dialect's
 * tests and the relay run it.
 */
const CONNECTION_EXECUTORS: { readonly [F in DatabaseFamily]: (dialectPackage: DialectPackageExecutors[F]) => ConnectionExecutor } = {
  postgres:
    ({ pgExecutor }) =>
    (connection) =>
      pgExecutor(connection as never),
  // Knex and TypeORM hold mysql2's callback connection: `.promise()` is mysql2's own promise
  // wrapper over that same connection. A connection from `mysql2/promise` is used as it is.
  mysql:
    ({ mysqlExecutor }) =>
    (connection) =>
      mysqlExecutor(
        (typeof (connection as Partial<Mysql2CallbackConnection>).promise === 'function'
          ? (connection as Mysql2CallbackConnection).promise()
          : connection) as never,
      ),
  sqlite:
    ({ sqliteExecutor }) =>
    (connection) =>
      sqliteExecutor(connection as never),
};

/**
 * The executor for raw driver connections of `family` (`pg` Client, `mysql2` connection,
 * `better-sqlite3` Database), loaded from the family's dialect package at the first call and
 * kept: an application has only its own database's package and driver installed. A failed load
 * (package not installed: an `OutboxConfigError` saying what to install) is retried by the next
 * call, not cached.
 *
 * @example
 * const executorFor = lazyConnectionExecutor('postgres', '@outboxkit/knex', (specifier) => import(specifier));
 * await writeEvents(dialect, (await executorFor())(await trx.client.acquireConnection()), event, { transactionChecked: true });
 */
export function lazyConnectionExecutor(family: DatabaseFamily, plugin: string, load: PluginImport): () => Promise<ConnectionExecutor> {
  const adapt = CONNECTION_EXECUTORS[family] as (dialectPackage: unknown) => ConnectionExecutor;
  let loaded: Promise<ConnectionExecutor> | undefined;
  return () => {
    if (loaded === undefined) {
      const loading = importDialectPackage(family, plugin, load).then(adapt);
      loaded = loading;
      loading.catch(() => {
        if (loaded === loading) loaded = undefined;
      });
    }
    return loaded;
  };
}

/**
 * A `SqlExecutor` inside an open transaction whose raw connection is reached asynchronously:
 * `InboxDatabase.executor(tx)` answers synchronously, while the connection (and the dialect
 * package's executor for it) are resolved at each statement.
 *
 * @example
 * executor: (trx) => transactionConnectionExecutor(executorFor, () => trx.client.acquireConnection()),
 */
export function transactionConnectionExecutor(executorFor: () => Promise<ConnectionExecutor>, connection: () => Promise<unknown>): SqlExecutor {
  return {
    inTransaction: true,
    async query<Row>(sql: string, params?: readonly unknown[]) {
      return (await executorFor())(await connection()).query<Row>(sql, params);
    },
  };
}

/** Where one write goes: the transaction it joins, and how to reach that transaction's raw connection. */
export interface TransactionConnection<Key extends object> {
  /** Stands for the transaction (its outermost handle, its QueryRunner...): writes with the same key run one after another. */
  readonly key: Key;
  /** The raw driver connection the transaction runs on. */
  connection(): Promise<unknown>;
  /**
   * Throws when the transaction ended while the write waited for the previous one of its key;
   * the plugin's own check (an `OutboxTransactionRequiredError` with its usage).
   */
  assertOpen(): void;
}

/**
 * The write path of a plugin that holds the raw driver connection of the caller's transaction:
 * events written with `dialect` through the family's dialect-package executor (see
 * {@link lazyConnectionExecutor}), one write after another per transaction (see
 * {@link serialByKey}). The plugin has checked the transaction before calling; what it adds is
 * the ORM's idiom and the commit signal.
 *
 * @example
 * const write = connectionWriter<Knex.Transaction>(dialect, 'postgres', '@outboxkit/knex', (specifier) => import(specifier));
 * const written = await write({ key: root, connection: () => trx.client.acquireConnection(), assertOpen: () => check(trx) }, events);
 */
export function connectionWriter<Key extends object>(
  dialect: WriterDialect,
  family: DatabaseFamily,
  plugin: string,
  load: PluginImport,
): <Events extends EventMap>(transaction: TransactionConnection<Key>, events: EventsInput<Events>) => Promise<WrittenEvent[]> {
  const executorFor = lazyConnectionExecutor(family, plugin, load);
  const serial = serialByKey<Key>();
  return (transaction, events) =>
    serial(transaction.key, async () => {
      transaction.assertOpen();
      const executor = (await executorFor())(await transaction.connection());
      return writeEvents(dialect, executor, events, { transactionChecked: true });
    });
}
