import { lazyConnectionExecutor, transactionConnectionExecutor, type InboxDatabase, type SqlExecutor } from '@outboxkit/core';
import type { Knex } from 'knex';
import { connectionOf, familyOf, type KnexTransaction } from './knex-client.js';

/**
 * The inbox seam for `createInboxConsumer` on knex: every delivery runs in one
 * `knex.transaction(...)`, the inbox row is written on that transaction's connection (through
 * the same dialect-package executors the outbox writer uses), and the handler receives the
 * transaction `trx`: its queries, and events it adds with `outbox.add(trx, ...)`, commit or roll
 * back with the inbox row. Pass the dialect of knex's database to the consumer
 * (`createPostgresDialect()`, ...). `config` goes to every `knex.transaction(fn, config)`
 * (isolation level, read-only).
 *
 * @example
 * const consumer = createInboxConsumer({
 *   connection: 'amqp://guest:guest@localhost:5672',
 *   queue: 'billing.orders',
 *   consumer: 'billing.invoices',
 *   db: knexInbox(knex),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, trx) => {
 *     await trx('invoices').insert({ order_id: event.aggregateId });
 *   },
 * });
 */
export function knexInbox(knex: Knex, config?: Knex.TransactionConfig): InboxDatabase<KnexTransaction> {
  // Checked now: an unsupported database should fail at start, not as a requeued database error per message.
  const { family } = familyOf(knex);
  const executorFor = lazyConnectionExecutor(family, '@outboxkit/knex', (specifier) => import(specifier));
  const options = config === undefined ? undefined : Object.freeze({ ...config });
  return Object.freeze({
    transaction: <T>(fn: (trx: KnexTransaction) => Promise<T>): Promise<T> => knex.transaction((trx) => fn(trx), options),
    executor: (trx: KnexTransaction): SqlExecutor => transactionConnectionExecutor(executorFor, () => connectionOf(trx)),
  });
}
