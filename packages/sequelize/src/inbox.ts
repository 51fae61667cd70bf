import { OutboxConfigError, type InboxDatabase, type SqlExecutor } from '@outboxkit/core';
import type { Sequelize, Transaction, TransactionOptions } from 'sequelize';
import { connectionAdapterFor } from './connection-executors.js';
import type { TransactionInternals } from './transaction-guard.js';

/**
 * The inbox seam for `createInboxConsumer` on Sequelize 6: every delivery runs in one managed
 * `sequelize.transaction(...)`, the inbox row is written on that transaction's connection (through
 * the same dialect-package adapters the outbox writer uses), and the handler receives the
 * `Transaction`: pass it as `{ transaction }` to your model calls so they commit or roll back with
 * the inbox row. Pass the dialect of Sequelize's database to the consumer (`createPostgresDialect()`, ...).
 *
 * `transactionOptions` go to every `sequelize.transaction(options, fn)` (isolation level, type). On
 * SQLite the type defaults to IMMEDIATE: Sequelize opens one connection per transaction, and
 * DEFERRED transactions that overlap fail with SQLITE_BUSY at their first write (checked: 4 of 8
 * concurrent deliveries), while IMMEDIATE ones queue for the write lock at BEGIN.
 *
 * @example
 * const consumer = createInboxConsumer({
 *   connection: 'amqp://guest:guest@localhost:5672',
 *   queue: 'billing.orders',
 *   consumer: 'billing.invoices',
 *   db: sequelizeInbox(sequelize),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, transaction) => {
 *     await Invoice.create({ orderId: event.aggregateId }, { transaction });
 *   },
 * });
 */
export function sequelizeInbox(sequelize: Sequelize, transactionOptions: TransactionOptions = {}): InboxDatabase<Transaction> {
  if (sequelize === null || typeof sequelize !== 'object' || typeof (sequelize as Partial<Sequelize>).getDialect !== 'function') {
    throw new OutboxConfigError('sequelize', 'expected a Sequelize 6 instance (new Sequelize(...))');
  }
  // Checked now: an unsupported database should fail at start, not as a requeued database error per message.
  const adapter = connectionAdapterFor(sequelize.getDialect());
  const sqliteDefault: TransactionOptions = sequelize.getDialect() === 'sqlite' ? { type: 'IMMEDIATE' as TransactionOptions['type'] } : {};
  const options = Object.freeze({ ...sqliteDefault, ...transactionOptions });
  let executorFactory: Promise<(connection: unknown) => SqlExecutor> | undefined;
  return Object.freeze({
    transaction: <T>(fn: (transaction: Transaction) => Promise<T>): Promise<T> => sequelize.transaction(options, (transaction) => fn(transaction)),
    executor(transaction: Transaction): SqlExecutor {
      // executor() answers synchronously; loading the dialect package's adapter is asynchronous.
      return {
        inTransaction: true,
        async query<Row>(sql: string, params?: readonly unknown[]) {
          executorFactory ??= adapter.load();
          const connection = (transaction as unknown as TransactionInternals).connection;
          return (await executorFactory)(connection).query<Row>(sql, params);
        },
      };
    },
  });
}
