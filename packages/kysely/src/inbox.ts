import type { InboxDatabase } from '@outboxkit/core';
import type { Kysely, Transaction, TransactionSettings } from 'kysely';
import { transactionExecutor } from './kysely-executor.js';

/**
 * The inbox seam for `createInboxConsumer` on Kysely: every delivery runs in one
 * `db.transaction().execute(...)` (with `settings`' isolation level and access mode, when given),
 * the inbox row is written on its connection, and the handler receives the `trx`, so its writes
 * commit or roll back with the inbox row; `outbox(trx).add(...)` works in the handler too. Pass
 * the dialect of the database to the consumer (`createPostgresDialect()`, ...).
 *
 * On SQLite, Kysely runs everything on one connection, one transaction at a time (its driver's
 * mutex): deliveries queue for it, as do the application's other queries on that instance.
 *
 * @example
 * const consumer = createInboxConsumer({
 *   connection: 'amqp://guest:guest@localhost:5672',
 *   queue: 'billing.orders',
 *   consumer: 'billing.invoices',
 *   db: kyselyInbox(db, { isolationLevel: 'serializable' }),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, trx) => {
 *     await trx.insertInto('invoices').values({ order_id: event.aggregateId }).execute();
 *   },
 * });
 */
export function kyselyInbox<DB>(db: Kysely<DB>, settings: TransactionSettings = {}): InboxDatabase<Transaction<DB>> {
  let builder = db.transaction();
  if (settings.isolationLevel !== undefined) builder = builder.setIsolationLevel(settings.isolationLevel);
  if (settings.accessMode !== undefined) builder = builder.setAccessMode(settings.accessMode);
  const configured = builder;
  return Object.freeze({
    transaction: <T>(fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> => configured.execute(fn),
    executor: (trx: Transaction<DB>) => transactionExecutor(trx),
  });
}
