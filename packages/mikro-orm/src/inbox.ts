import type { EntityManager } from '@mikro-orm/core';
import type { InboxDatabase, SqlExecutor } from '@outboxkit/core';
import { transactionExecutor } from './transaction-executor.js';

/**
 * The inbox seam for `createInboxConsumer` on MikroORM: every delivery gets its own forked
 * EntityManager running `em.transactional(...)`. The inbox row is written on the raw connection of
 * that transaction (the same connection adapters the outbox writer uses), and the handler receives
 * the transactional EntityManager: entities it persists are flushed by `transactional` before the
 * commit, so they commit or roll back with the inbox row. Pass the dialect of the ORM's database
 * to the consumer (`createPostgresDialect()`, ...).
 *
 * Supported drivers: `SUPPORTED_DRIVERS` (pg, mysql2, mariadb, better-sqlite3).
 *
 * @example
 * const consumer = createInboxConsumer({
 *   connection: 'amqp://guest:guest@localhost:5672',
 *   queue: 'billing.orders',
 *   consumer: 'billing.invoices',
 *   db: mikroOrmInbox(orm),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, em) => {
 *     em.create(Invoice, { orderId: event.aggregateId });
 *   },
 * });
 */
export function mikroOrmInbox<Em extends EntityManager>(orm: { readonly em: Em }): InboxDatabase<Em> {
  return Object.freeze({
    // A fork per delivery: concurrent deliveries never share an identity map or unit of work.
    transaction: <T>(fn: (em: Em) => Promise<T>): Promise<T> => orm.em.fork().transactional((em) => fn(em)),
    executor: (em: Em) => inboxExecutor(em),
  });
}

/**
 * `executor()` must answer synchronously, while reaching knex's connection is asynchronous (and
 * so is loading the dialect package's adapter): the first statement resolves it, later ones reuse it.
 */
function inboxExecutor(em: EntityManager): SqlExecutor {
  let resolved: Promise<SqlExecutor> | undefined;
  return {
    inTransaction: true,
    async query<Row>(sql: string, params?: readonly unknown[]) {
      resolved ??= transactionExecutor(undefined, em.getTransactionContext(), em.getPlatform().constructor.name).then(({ executor }) => executor);
      return (await resolved).query<Row>(sql, params);
    },
  };
}
