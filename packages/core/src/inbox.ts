import type { EventMap, JsonValue, TypedEvent } from './envelope.js';
import { OutboxConfigError } from './errors.js';
import type { InboxDialect } from './inbox-dialect.js';
import { integerOption } from './options.js';
import type { SqlExecutor } from './sql.js';

/** An outbox event as a consumer receives it, decoded from the broker's message. */
export interface InboxEvent {
  /** The event id: the idempotency key the inbox dedupes on. */
  readonly id: string;
  readonly type: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** 1, 2, 3... per aggregate, in commit order. */
  readonly sequence: number;
  readonly occurredAt: Date;
  readonly payload: JsonValue;
  /** The event's own headers (trace context, correlation ids); outboxkit's `x-outbox-*` headers are left out. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * The transaction seam the inbox needs: run `fn` in one transaction, commit when it resolves,
 * roll back when it throws. A `SqlDatabase` (pgDatabase, mysqlDatabase, openSqliteDatabase) fits
 * as is; an ORM fits with `Tx` = its transaction handle plus an `executor(tx)` that runs raw SQL
 * on that same transaction.
 *
 * @example
 * // Prisma: the interactive-transaction client is the handle.
 * const db = { transaction: (fn) => prisma.$transaction(fn), executor: (tx) => prismaExecutor(tx) };
 */
export interface InboxDatabase<Tx = SqlExecutor> {
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** The `SqlExecutor` of the transaction `tx`, for the inbox statements. Omit it when `Tx` is a `SqlExecutor`. */
  executor?(tx: Tx): SqlExecutor;
}

/**
 * An {@link InboxEvent} typed by the writers' event map: a union with one member per event type,
 * so checking `event.type` narrows `event.payload`. With the default, open map it is
 * `InboxEvent` (`type: string`, a JSON payload).
 *
 * @example
 * type Events = { OrderPlaced: { total: number }; OrderCancelled: { reason: string } };
 * const onEvent = async (event: TypedInboxEvent<Events>) => {
 *   if (event.type === 'OrderPlaced') console.log(event.payload.total); // number
 * };
 */
export type TypedInboxEvent<Events extends EventMap = EventMap> = TypedEvent<InboxEvent, Events>;

/**
 * Applies one event inside the consumer's transaction. Throwing rolls the transaction back.
 * `Events` is the event map the writers use: the consumer trusts the wire to carry it (a payload
 * is JSON the writers' types checked, not validated again here).
 */
export type InboxHandler<Tx = SqlExecutor, Events extends EventMap = EventMap> = (event: TypedInboxEvent<Events>, tx: Tx) => Promise<void>;

/**
 * The transaction handle of an inbox seam, for naming `Tx` next to an event map:
 * `createInboxConsumer<Events, InboxTransaction<typeof inbox>>({ db: inbox, ... })`.
 */
export type InboxTransaction<Db> = Db extends InboxDatabase<infer Tx> ? Tx : never;

/**
 * The handler as the consumers call it, with any decoded event. The one place the event map is
 * taken on trust: the broker delivers JSON, which the writers' map typed when it was written.
 */
export function untypedHandler<Tx, Events extends EventMap>(handler: InboxHandler<Tx, Events>): InboxHandler<Tx> {
  return handler as InboxHandler<Tx>;
}

/** What happened to one delivery. Errors of the database itself (connect, commit) are thrown instead. */
export type InboxOutcome =
  /** The handler ran and the transaction (effect + inbox row) committed. */
  | { readonly kind: 'processed'; readonly durationMs: number }
  /** The inbox already had the id (or the ordering guard had applied a later sequence): nothing ran. */
  | { readonly kind: 'duplicate' }
  /** The ordering guard is waiting for an earlier event of the aggregate; nothing was written. */
  | { readonly kind: 'held-back'; readonly expected: string }
  /** The handler threw; the transaction was rolled back. */
  | { readonly kind: 'failed'; readonly error: unknown; readonly durationMs: number };

export interface ApplyInboxEventOptions<Tx> {
  readonly db: InboxDatabase<Tx>;
  readonly dialect: InboxDialect;
  /** The consumer's name: one inbox key space per consumer, so two services can share a database. */
  readonly consumer: string;
  readonly handler: InboxHandler<Tx>;
  /** The ordering guard, or null when events are applied in arrival order. */
  readonly ordering: { readonly acceptFirstSeen: boolean } | null;
}

/**
 * Runs one event through the inbox: open a transaction, insert the (consumer, event id) row
 * (already there: a duplicate, the handler does not run), check the ordering guard, run the
 * handler with the transaction, commit. The inbox row and the handler's writes commit
 * together, so a crash anywhere before the commit leaves neither, and a redelivery after the
 * commit finds the row: the effect happens once, however often the message arrives.
 */
export async function applyInboxEvent<Tx>(options: ApplyInboxEventOptions<Tx>, event: InboxEvent): Promise<InboxOutcome> {
  const { db, dialect, consumer, handler, ordering } = options;
  const executorOf = db.executor?.bind(db) ?? ((tx: Tx) => tx as unknown as SqlExecutor);
  try {
    return await db.transaction(async (tx): Promise<InboxOutcome> => {
      const exec = executorOf(tx);
      if (!(await dialect.inboxInsert(exec, consumer, event.id))) return DUPLICATE;
      if (ordering !== null) {
        const aggregate = { type: event.aggregateType, id: event.aggregateId };
        const decision = await dialect.advanceInboxSequence(exec, consumer, aggregate, event.sequence, ordering.acceptFirstSeen);
        // Committing the inbox row of an already-applied sequence is harmless and saves the
        // next redelivery the sequence look-up.
        if (decision === 'applied') return DUPLICATE;
        // Thrown, not returned: the inbox row just inserted must be rolled back with it.
        if (decision === 'early') throw new HeldBack(`an event of ${event.aggregateType}/${event.aggregateId} before sequence ${event.sequence}`);
      }
      const started = performance.now();
      try {
        await handler(event, tx);
      } catch (error) {
        throw new HandlerFailed(error, performance.now() - started);
      }
      return { kind: 'processed', durationMs: performance.now() - started };
    });
  } catch (error) {
    if (error instanceof HeldBack) return { kind: 'held-back', expected: error.expected };
    if (error instanceof HandlerFailed) return { kind: 'failed', error: error.error, durationMs: error.durationMs };
    throw error;
  }
}

const DUPLICATE: InboxOutcome = Object.freeze({ kind: 'duplicate' });

/** Carries a handler's error out of `transaction()` so it is told apart from the database's own errors. */
class HandlerFailed {
  constructor(
    readonly error: unknown,
    readonly durationMs: number,
  ) {}
}

class HeldBack {
  constructor(readonly expected: string) {}
}

export interface PruneInboxOptions {
  /**
   * Inbox rows older than this are deleted. It must exceed the longest time a duplicate can
   * still arrive: broker redelivery, retries, and any replay window (see docs/consumers.md).
   * @example 14 * 24 * 3600_000 // two weeks
   */
  retentionMs: number;
  /**
   * Rows per delete statement.
   * @default 1000
   */
  batchSize?: number;
  /** The clock the cutoff is computed from. @default () => new Date() */
  now?: () => Date;
}

/**
 * Deletes inbox rows older than the retention window, in batches, until none is left; returns
 * how many were deleted. Safe to run while consumers are running (each batch is its own
 * short statement).
 *
 * @example
 * await pruneInbox(db, dialect, { retentionMs: 14 * 24 * 3600_000 });
 */
export async function pruneInbox(exec: SqlExecutor, dialect: InboxDialect, options: PruneInboxOptions): Promise<number> {
  const retentionMs = integerOption(options.retentionMs, 'retentionMs', NaN, 1, Number.MAX_SAFE_INTEGER);
  if (Number.isNaN(retentionMs)) throw new OutboxConfigError('retentionMs', 'is required: how long to keep inbox rows, in milliseconds');
  const batchSize = integerOption(options.batchSize, 'batchSize', 1000, 1, 100_000);
  const cutoff = new Date((options.now ?? (() => new Date()))().getTime() - retentionMs);
  let total = 0;
  for (;;) {
    const deleted = await dialect.deleteInboxBefore(exec, cutoff, batchSize);
    total += deleted;
    if (deleted < batchSize) return total;
  }
}
