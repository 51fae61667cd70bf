import { lazyConnectionExecutor, serialByKey, transactionConnectionExecutor, type InboxDatabase, type SqlExecutor } from '@outboxkit/core';
import type { DataSource, EntityManager } from 'typeorm';
import { databaseOf } from './data-source-family.js';

/** TypeORM's isolation level names (`'READ COMMITTED'`, `'SERIALIZABLE'`, ...); typeorm does not export the type from its root. */
export type IsolationLevel = Parameters<DataSource['transaction']>[0] & string;

export interface TypeormInboxOptions {
  /**
   * The isolation level of every delivery's transaction (`dataSource.transaction(level, fn)`).
   * @example { isolationLevel: 'SERIALIZABLE' }
   */
  isolationLevel?: IsolationLevel;
}

/**
 * The inbox seam for `createInboxConsumer` on TypeORM: every delivery runs in one
 * `dataSource.transaction(...)`, the inbox row is written on that transaction's connection
 * (through the same dialect-package executors the outbox writer uses), and the handler receives
 * an EntityManager bound to that transaction: its writes, and events it adds with `outbox.add`,
 * commit or roll back with the inbox row. Pass the dialect of the DataSource's database to the
 * consumer (`createPostgresDialect()`, ...).
 *
 * On SQLite, TypeORM runs every transaction on one shared QueryRunner, where a second transaction
 * at once would become a savepoint of the first: deliveries then run one at a time.
 *
 * @example
 * const consumer = createInboxConsumer({
 *   connection: 'amqp://guest:guest@localhost:5672',
 *   queue: 'billing.orders',
 *   consumer: 'billing.invoices',
 *   db: typeormInbox(dataSource),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, manager) => {
 *     await manager.save(Invoice, { orderId: event.aggregateId });
 *   },
 * });
 */
export function typeormInbox(dataSource: DataSource, options: TypeormInboxOptions = {}): InboxDatabase<EntityManager> {
  // Checked now: an unsupported database should fail at start, not as a requeued database error per message.
  const database = databaseOf(dataSource);
  const executorFor = lazyConnectionExecutor(database.family, '@outboxkit/typeorm', (specifier) => import(specifier));
  const { isolationLevel } = options;
  // A manager of its own per delivery: on SQLite the transaction's manager is the same object every time.
  const inTransaction =
    <T>(fn: (manager: EntityManager) => Promise<T>) =>
    (manager: EntityManager) =>
      fn(dataSource.createEntityManager(manager.queryRunner));
  const transaction = <T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> =>
    isolationLevel === undefined ? dataSource.transaction(inTransaction(fn)) : dataSource.transaction(isolationLevel, inTransaction(fn));
  const serial = serialByKey<DataSource>();
  return Object.freeze({
    transaction: database.sharedConnection
      ? <T>(fn: (manager: EntityManager) => Promise<T>): Promise<T> => serial(dataSource, () => transaction(fn))
      : transaction,
    executor: (manager: EntityManager): SqlExecutor => transactionConnectionExecutor(executorFor, () => manager.queryRunner!.connect()),
  });
}
