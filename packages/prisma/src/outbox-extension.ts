import { Prisma } from '@prisma/client/extension';
import type { Types } from '@prisma/client/runtime/client';
import { OutboxTransactionRequiredError, writeEvents, type EventInput, type EventMap, type OneOrList, type WrittenEvent } from '@outboxkit/core';
import { CommitTracker } from './commit-tracker.js';
import { normalizeOutboxExtensionOptions, type OutboxExtensionOptions } from './outbox-options.js';
import { prismaExecutor, type PrismaRawClient } from './prisma-executor.js';
import { assertDialectMatchesClient } from './provider-check.js';
import { transactionKeyOf } from './transaction-scope.js';

/**
 * What `$outbox` requires its client to be: the `tx` of `prisma.$transaction(async (tx) => ...)`,
 * whose raw-SQL methods it writes through. Prisma types that client without `$extends` (the base
 * client has it), so `prisma.$outbox(...)` on the base client is a compile error: "The 'this'
 * context of type ... is not assignable to method's 'this' of type 'InteractiveTransactionClient'".
 * At run time it throws {@link OutboxTransactionRequiredError}.
 */
export interface InteractiveTransactionClient extends PrismaRawClient {
  readonly $extends?: never;
}

/**
 * `tx.$outbox`: writes one event (or a list, in order) inside the current interactive
 * transaction, on its connection, so it commits or rolls back with your business writes.
 * Resolves to the written event (a list for a list) with the sequence the database assigned,
 * typed by the event map: `type` and `payload` narrow together.
 *
 * Only valid on the `tx` client of `prisma.$transaction(async (tx) => ...)`; on any other client
 * it is a type error, and throws {@link OutboxTransactionRequiredError} synchronously.
 */
export type OutboxWrite<Events extends EventMap = EventMap> = <Input extends EventInput<Events> | readonly EventInput<Events>[]>(
  this: InteractiveTransactionClient,
  events: Input,
) => Promise<OneOrList<Input, WrittenEvent<Events>>>;

/** What the extension adds to the client, typed by your event map. (A type alias: Prisma wants an index signature.) */
export type OutboxClientMethods<Events extends EventMap = EventMap> = {
  $outbox: OutboxWrite<Events>;
};

/** The value `prisma.$extends(...)` accepts; see {@link outbox}. */
export type OutboxExtension<Events extends EventMap = EventMap> = (client: any) => {
  $extends: { extArgs: Types.Extensions.InternalArgs<{}, {}, {}, OutboxClientMethods<Events>> };
};

const USAGE = 'await prisma.$transaction(async (tx) => { await tx.order.create({ data }); await tx.$outbox(event) })';

type TransactionMethod = (this: unknown, arg: unknown, options?: unknown) => Promise<unknown>;

/**
 * The Prisma client extension: `tx.$outbox(event)` inside interactive transactions, and a
 * wake-up for relays in this process once such a transaction commits.
 *
 * @example
 * type Events = { OrderPlaced: { orderId: number; total: number } };
 * const prisma = new PrismaClient({ adapter }).$extends(outbox<Events>({ dialect: createPostgresDialect() }));
 * await prisma.$transaction(async (tx) => {
 *   const order = await tx.order.create({ data: { number: 'A-1', total: 42 } });
 *   await tx.$outbox({ aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload: { orderId: order.id, total: 42 } });
 * });
 */
export function outbox<Events extends EventMap = EventMap>(options: OutboxExtensionOptions): OutboxExtension<Events> {
  const { dialect } = normalizeOutboxExtensionOptions(options);
  const extension = Prisma.defineExtension((client) => {
    assertDialectMatchesClient(client, dialect);
    const commits = new CommitTracker();
    // The method this extension replaces: Prisma's own, or an earlier extension's. Called with
    // the outermost client as `this`, so `tx` keeps every extension (this one included).
    const parentTransaction = (client as unknown as { $transaction: TransactionMethod }).$transaction;

    function $outbox(this: unknown, events: EventInput<Events> | readonly EventInput<Events>[]): Promise<WrittenEvent<Events> | WrittenEvent<Events>[]> {
      const key = transactionKeyOf(this);
      // Thrown, not returned as a rejection: inside `$transaction([...])` an array element is
      // evaluated on the base client, and this must stop the batch before it starts.
      if (key === undefined) {
        throw new OutboxTransactionRequiredError(
          `tx.$outbox() must be called on the transaction client of an interactive transaction, so the event commits or rolls back with your changes: ${USAGE}. ` +
            'It is not available on the base client nor in batch transactions ($transaction([...])).',
        );
      }
      const executor = prismaExecutor(this as PrismaRawClient);
      return writeEvents<Events>(dialect, executor, events, { transactionChecked: true }).then((stored) => {
        commits.wrote(key);
        // Each stored event was validated from its input, so it has that input's type and payload.
        const written = stored as WrittenEvent<Events>[];
        return Array.isArray(events) ? written : written[0]!;
      });
    }

    async function $transaction(this: unknown, arg: unknown, transactionOptions?: unknown): Promise<unknown> {
      // Batch transactions cannot contain $outbox (it throws while the array is built), and a
      // nested transaction commits with its top-level one, which signals.
      if (typeof arg !== 'function' || transactionKeyOf(this) !== undefined) {
        return parentTransaction.call(this, arg, transactionOptions);
      }
      const callback = arg as (tx: unknown) => Promise<unknown>;
      let key: object | string | undefined;
      let committed = false;
      try {
        const result = await parentTransaction.call(
          this,
          (tx: unknown) => {
            key = transactionKeyOf(tx);
            if (key !== undefined) commits.opened(key);
            return callback(tx);
          },
          transactionOptions,
        );
        committed = true;
        return result;
      } finally {
        if (key !== undefined) commits.closed(key, committed);
      }
    }

    return client.$extends({
      name: '@outboxkit/prisma',
      // `$transaction` is replaced at runtime only; its type stays Prisma's own.
      client: { $outbox, $transaction } as unknown as OutboxClientMethods<Events>,
    });
  });
  return extension as unknown as OutboxExtension<Events>;
}
