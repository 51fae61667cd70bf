import { setTimeout as sleep } from 'node:timers/promises';
import { OutboxConfigError } from './errors.js';
import { MAX_INBOX_KEY_LENGTH, type InboxDialect } from './inbox-dialect.js';
import type { EventMap } from './envelope.js';
import { applyInboxEvent, untypedHandler, type ApplyInboxEventOptions, type InboxDatabase, type InboxEvent, type InboxHandler } from './inbox.js';
import { boundedErrorText, type InboxConsumerStats, type InboxObserver } from './inbox-observer.js';
import { decodeMessage, UndecodableMessage, type ReceivedMessageParts } from './message-headers.js';
import { booleanOption, integerOption } from './options.js';
import type { SqlExecutor } from './sql.js';

/**
 * The options every inbox consumer on a broker that counts deliveries itself (JetStream's
 * `num_delivered`, a Redis pending entry's delivery count) shares; each broker package adds its
 * connection and source options.
 */
export interface RedeliveryInboxOptions<Tx = SqlExecutor, Events extends EventMap = EventMap> {
  /**
   * This consumer's name in the inbox: one key space per name. Keep it stable: renaming it
   * forgets everything processed so far.
   * @example 'billing.invoice-on-order-placed'
   */
  consumer: string;
  /** Where the handler's transaction runs: a SqlDatabase or an ORM adapter `{ transaction(fn), executor(tx) }`. */
  db: InboxDatabase<Tx>;
  /** The dialect of that database (createPostgresDialect(), ...), migrated to version 2 or later. */
  dialect: InboxDialect;
  /** Applies one event with the transaction (`event` typed by `Events`). Write your effects through `tx` only. */
  handler: InboxHandler<Tx, Events>;
  /**
   * Handlers running at once. Each holds one database transaction (one pooled connection).
   * @default 4
   */
  concurrency?: number;
  /**
   * Deliveries of one message, for any reason (a failed handler, a hold-back of the ordering
   * guard, a consumer that died before acking), before it goes to the dead letters. The broker
   * counts them, so the bound holds across consumer restarts.
   * @default 5
   */
  maxDeliveries?: number;
  /**
   * Wait before a message whose handler failed is delivered again.
   * @default 1000
   */
  retryDelayMs?: number;
  /**
   * Apply events of one aggregate strictly in sequence order (`true` for the defaults). A held-back
   * delivery counts against `maxDeliveries`: raise it when events can arrive far out of order.
   * @default false
   */
  ordering?: boolean | { acceptFirstSeen?: boolean; holdDelayMs?: number };
  observer?: InboxObserver;
}

export interface NormalizedRedeliveryInboxOptions<Tx> {
  readonly consumer: string;
  readonly db: InboxDatabase<Tx>;
  readonly dialect: InboxDialect;
  readonly handler: InboxHandler<Tx>;
  readonly concurrency: number;
  readonly maxDeliveries: number;
  readonly retryDelayMs: number;
  readonly ordering: { readonly acceptFirstSeen: boolean; readonly holdDelayMs: number } | null;
  readonly observer: InboxObserver;
}

export const REDELIVERY_INBOX_DEFAULTS = Object.freeze({
  concurrency: 4,
  maxDeliveries: 5,
  retryDelayMs: 1000,
  ordering: Object.freeze({ acceptFirstSeen: false, holdDelayMs: 200 }),
});

const COMMON_KEYS = ['consumer', 'db', 'dialect', 'handler', 'concurrency', 'maxDeliveries', 'retryDelayMs', 'ordering', 'observer'] as const;
const MAX_DELAY_MS = 3_600_000;

/**
 * Checks the shared options (and that no option outside `COMMON_KEYS` + `brokerKeys` is given)
 * and fills in the defaults. Throws {@link OutboxConfigError} naming the option.
 */
export function normalizeRedeliveryInboxOptions<Tx, Events extends EventMap = EventMap>(
  options: RedeliveryInboxOptions<Tx, Events>,
  brokerKeys: readonly string[],
): NormalizedRedeliveryInboxOptions<Tx> {
  if (options === null || typeof options !== 'object') {
    throw new OutboxConfigError('options', 'expected an object like { consumer, db, dialect, handler, ... }');
  }
  const known = new Set<string>([...COMMON_KEYS, ...brokerKeys]);
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new OutboxConfigError(key, `unknown option; known: ${[...known].join(', ')}`);
  }
  const { consumer } = options;
  if (typeof consumer !== 'string' || consumer === '' || consumer.length > MAX_INBOX_KEY_LENGTH) {
    throw new OutboxConfigError('consumer', `must be a non-empty string of at most ${MAX_INBOX_KEY_LENGTH} characters`);
  }
  if (typeof options.db?.transaction !== 'function') throw new OutboxConfigError('db', 'expected a SqlDatabase or { transaction(fn), executor(tx) }');
  if (typeof options.dialect?.inboxInsert !== 'function' || typeof options.dialect.advanceInboxSequence !== 'function') {
    throw new OutboxConfigError('dialect', 'expected a dialect with the inbox methods (createPostgresDialect(), createMysqlDialect(), createSqliteDialect())');
  }
  if (typeof options.handler !== 'function') throw new OutboxConfigError('handler', 'expected an async function (event, tx) => void');
  const defaults = REDELIVERY_INBOX_DEFAULTS;
  return Object.freeze({
    consumer,
    db: options.db,
    dialect: options.dialect,
    handler: untypedHandler(options.handler),
    concurrency: integerOption(options.concurrency, 'concurrency', defaults.concurrency, 1, 1000),
    maxDeliveries: integerOption(options.maxDeliveries, 'maxDeliveries', defaults.maxDeliveries, 1, 1_000_000),
    retryDelayMs: integerOption(options.retryDelayMs, 'retryDelayMs', defaults.retryDelayMs, 0, MAX_DELAY_MS),
    ordering: normalizeOrdering(options.ordering),
    observer: options.observer ?? {},
  });
}

function normalizeOrdering(value: RedeliveryInboxOptions['ordering']): NormalizedRedeliveryInboxOptions<unknown>['ordering'] {
  if (value === undefined || value === false) return null;
  const options = value === true ? {} : value;
  if (typeof options !== 'object' || options === null) throw new OutboxConfigError('ordering', 'expected true, false or { acceptFirstSeen, holdDelayMs }');
  const defaults = REDELIVERY_INBOX_DEFAULTS.ordering;
  return Object.freeze({
    acceptFirstSeen: booleanOption(options.acceptFirstSeen, 'ordering.acceptFirstSeen', defaults.acceptFirstSeen),
    holdDelayMs: integerOption(options.holdDelayMs, 'ordering.holdDelayMs', defaults.holdDelayMs, 0, MAX_DELAY_MS),
  });
}

/** What the broker package does with a delivery once the inbox has judged it. */
export type DeliveryVerdict =
  /** Acknowledge: processed, a duplicate, or (after the dead letter was written) given up. */
  | { readonly kind: 'ack' }
  /** Leave it unacknowledged, to be delivered again after `delayMs`. */
  | { readonly kind: 'redeliver'; readonly delayMs: number }
  /** Write it to the dead letters with `reason`, then acknowledge it (see {@link InboxDeliveries.deadLettered}). */
  | { readonly kind: 'dead-letter'; readonly reason: string };

/** One delivery of a message, as the broker package hands it over. */
export interface InboxDelivery {
  readonly message: ReceivedMessageParts;
  /** How often the broker has delivered it, this delivery included (1 on the first). */
  readonly deliveries: number;
  /**
   * Tells the broker the message is still being worked on (JetStream `working()`), while the
   * consumer waits out a database outage holding it.
   */
  keepAlive?(): void | Promise<void>;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * The broker-independent half of an inbox consumer on a redelivering broker: decodes a delivery,
 * runs it through {@link applyInboxEvent}, keeps stats, calls the observer, and says what to do
 * with the message. The broker package only maps the verdict to its own ack, redelivery and
 * dead-letter calls.
 *
 * A database failure is nobody's message: the delivery is held and retried here (with
 * `keepAlive`) until the database answers or the consumer closes, so an outage does not use up
 * the broker's delivery count and dead-letter healthy messages.
 */
export class InboxDeliveries<Tx> {
  readonly #config: NormalizedRedeliveryInboxOptions<Tx>;
  readonly #apply: ApplyInboxEventOptions<Tx>;
  readonly #closing: AbortSignal;
  readonly #stats: Mutable<InboxConsumerStats> = { processed: 0, duplicates: 0, failed: 0, deadLettered: 0, heldBack: 0 };

  constructor(config: NormalizedRedeliveryInboxOptions<Tx>, closing: AbortSignal) {
    this.#config = config;
    this.#closing = closing;
    this.#apply = { db: config.db, dialect: config.dialect, consumer: config.consumer, handler: config.handler, ordering: config.ordering };
  }

  stats(): InboxConsumerStats {
    return Object.freeze({ ...this.#stats });
  }

  async judge(delivery: InboxDelivery): Promise<DeliveryVerdict> {
    const event = decodeMessage(delivery.message);
    // Retrying cannot give a message an id or valid JSON: straight to the dead letters.
    if (event instanceof UndecodableMessage) return { kind: 'dead-letter', reason: `undecodable message: ${event.reason}` };
    const { maxDeliveries } = this.#config;
    if (delivery.deliveries > maxDeliveries) {
      // More deliveries than verdicts allow: earlier ones ended without one (the consumer died or
      // its ack was lost). Stop before the handler can crash the consumer once more.
      return { kind: 'dead-letter', reason: `delivered ${delivery.deliveries} times (maxDeliveries ${maxDeliveries}) without being acknowledged` };
    }
    for (;;) {
      let outcome: Awaited<ReturnType<typeof applyInboxEvent>>;
      try {
        outcome = await applyInboxEvent(this.#apply, event);
      } catch (error) {
        this.report(error);
        if (!(await this.wait(this.#config.retryDelayMs))) return { kind: 'redeliver', delayMs: 0 };
        await Promise.resolve(delivery.keepAlive?.()).catch((failure: unknown) => this.report(failure));
        continue;
      }
      return this.#verdict(outcome, event, delivery.deliveries);
    }
  }

  async #verdict(outcome: Awaited<ReturnType<typeof applyInboxEvent>>, event: InboxEvent, deliveries: number): Promise<DeliveryVerdict> {
    const last = deliveries >= this.#config.maxDeliveries;
    switch (outcome.kind) {
      case 'processed':
        this.#stats.processed++;
        this.#notify('onProcessed', { event, attempt: deliveries, durationMs: outcome.durationMs });
        try {
          await this.#config.observer.afterCommit?.({ event });
        } catch (error) {
          // Committed: the message must be acked whatever a hook does.
          this.report(error);
        }
        return ACK;
      case 'duplicate':
        this.#stats.duplicates++;
        this.#notify('onDuplicate', { event });
        return ACK;
      case 'held-back':
        if (last) return { kind: 'dead-letter', reason: `held back ${deliveries} times waiting for ${outcome.expected}` };
        this.#stats.heldBack++;
        this.#notify('onHeldBack', { event, holds: deliveries });
        return { kind: 'redeliver', delayMs: this.#config.ordering?.holdDelayMs ?? 0 };
      case 'failed':
        this.#stats.failed++;
        this.#notify('onFailed', { event, error: outcome.error, attempt: deliveries, durationMs: outcome.durationMs, willRetry: !last });
        if (last) return { kind: 'dead-letter', reason: boundedErrorText(outcome.error) };
        return { kind: 'redeliver', delayMs: this.#config.retryDelayMs };
    }
  }

  /** Call once the dead letter is stored, before acking the original. */
  deadLettered(messageId: string | undefined, reason: string, deliveries: number): void {
    this.#stats.deadLettered++;
    this.#notify('onDeadLettered', { messageId, reason, attempts: deliveries });
  }

  /** Sleeps `ms`; false when the consumer is closing. */
  async wait(ms: number): Promise<boolean> {
    if (this.#closing.aborted) return false;
    if (ms === 0) return true;
    try {
      await sleep(ms, undefined, { signal: this.#closing });
      return true;
    } catch {
      return false;
    }
  }

  report(error: unknown): void {
    try {
      this.#config.observer.onError?.(error);
    } catch {
      // An error reporter that throws has nowhere left to report to.
    }
  }

  #notify<K extends 'onProcessed' | 'onDuplicate' | 'onFailed' | 'onHeldBack' | 'onDeadLettered'>(
    hook: K,
    info: Parameters<NonNullable<InboxObserver[K]>>[0],
  ): void {
    try {
      (this.#config.observer[hook] as ((value: typeof info) => void) | undefined)?.(info);
    } catch (error) {
      this.report(error);
    }
  }
}

const ACK: DeliveryVerdict = Object.freeze({ kind: 'ack' });

/** Headers a dead-lettered copy carries besides the original ones. */
export const DEAD_LETTER_HEADERS = Object.freeze({
  /** Why it was given up: the last handler error, or what was wrong with it. */
  error: 'x-outbox-error',
  /** Deliveries before it was given up. */
  deliveries: 'x-outbox-deliveries',
  deadLetteredAt: 'x-outbox-dead-lettered-at',
  /** Where it was consumed from (stream, subject). */
  source: 'x-outbox-source',
});

/** The extra headers of a dead letter. */
export function deadLetterHeaders(reason: string, deliveries: number, source: string): Record<string, string> {
  return {
    [DEAD_LETTER_HEADERS.error]: reason,
    [DEAD_LETTER_HEADERS.deliveries]: String(deliveries),
    [DEAD_LETTER_HEADERS.deadLetteredAt]: new Date().toISOString(),
    [DEAD_LETTER_HEADERS.source]: source,
  };
}
