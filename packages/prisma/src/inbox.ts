import type { InboxDatabase } from '@outboxkit/core';
import { prismaExecutor, type PrismaRawClient } from './prisma-executor.js';

/** Options Prisma's interactive `$transaction(fn, options)` takes; passed through unchanged. */
export interface PrismaInboxTransactionOptions {
  /**
   * Longest wait for a connection to start the transaction (Prisma's default: 2000 ms).
   * @example 5_000
   */
  maxWait?: number;
  /**
   * Longest the transaction may stay open, handler included (Prisma's default: 5000 ms). A handler
   * slower than this fails its delivery: raise it for slow handlers.
   * @example 30_000
   */
  timeout?: number;
  /** @example 'Serializable' */
  isolationLevel?: string;
}

/**
 * The part of a Prisma client (base or extended, e.g. with `outbox()`) that the inbox uses:
 * interactive transactions whose client can run raw SQL.
 */
export interface PrismaInteractiveClient<Tx extends PrismaRawClient> {
  $transaction<R>(fn: (tx: Tx) => Promise<R>, options?: PrismaInboxTransactionOptions): PromiseLike<R>;
}

/**
 * The inbox seam for `createInboxConsumer` on a Prisma client: every delivery runs in one
 * interactive transaction, the inbox row is written through that transaction's client, and the
 * handler receives the same client (`tx`), so its writes commit or roll back with the inbox row.
 * Pass the dialect of the client's database to the consumer (`createPostgresDialect()`, ...).
 *
 * On an `outbox()`-extended client, `tx.$outbox(...)` works in the handler too: events a handler
 * emits commit with its effect.
 *
 * @example
 * const consumer = createInboxConsumer({
 *   connection: 'amqp://guest:guest@localhost:5672',
 *   queue: 'billing.orders',
 *   consumer: 'billing.invoices',
 *   db: prismaInbox(prisma, { timeout: 15_000 }),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, tx) => {
 *     await tx.invoice.create({ data: { orderId: event.aggregateId } });
 *   },
 * });
 */
export function prismaInbox<Tx extends PrismaRawClient>(
  prisma: PrismaInteractiveClient<Tx>,
  transactionOptions?: PrismaInboxTransactionOptions,
): InboxDatabase<Tx> {
  const options = transactionOptions === undefined ? undefined : Object.freeze({ ...transactionOptions });
  return Object.freeze({
    transaction: <T>(fn: (tx: Tx) => Promise<T>): Promise<T> => Promise.resolve(prisma.$transaction((tx) => fn(tx), options)),
    executor: (tx: Tx) => prismaExecutor(tx),
  });
}
