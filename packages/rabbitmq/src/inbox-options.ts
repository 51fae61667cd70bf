import {
  booleanOption,
  integerOption,
  MAX_INBOX_KEY_LENGTH,
  OutboxConfigError,
  redactUrl,
  untypedHandler,
  type EventMap,
  type InboxDatabase,
  type InboxDialect,
  type InboxHandler,
  type InboxObserver,
  type SqlExecutor,
} from '@outboxkit/core';
import type { Connection } from 'rabbitmq-client';

/** The observer hooks are the same for every broker's inbox consumer; defined in core. */
export type { InboxObserver };

/** The ordering guard's options (see docs/consumers.md for its cost). */
export interface InboxOrderingOptions {
  /**
   * For an aggregate this consumer has applied nothing of: accept whatever sequence arrives first
   * (a consumer attached to a running stream) instead of waiting for sequence 1.
   * @default false
   */
  acceptFirstSeen?: boolean;
  /**
   * How often one message may be held back before it is dead-lettered (its predecessor may itself
   * have been dead-lettered and will then never arrive).
   * @default 100
   */
  maxHolds?: number;
  /**
   * Wait before a held-back message is put back at the tail of the queue, so it does not spin.
   * @default 200
   */
  holdDelayMs?: number;
}

/** Where messages go after their last attempt. */
export interface DeadLetterOptions {
  /**
   * Exchange dead-lettered messages are published to, with the source queue's name as routing key.
   * @default `${queue}.dlx`
   */
  exchange?: string;
  /**
   * Queue bound to `exchange` (all routing keys) that keeps them. `null`: bind your own.
   * @default `${queue}.dead`
   */
  queue?: string | null;
  /**
   * Declare the exchange (fanout, durable), the queue (durable) and the binding, at start and
   * after every reconnect. Turn off when the topology is managed elsewhere.
   * @default true
   */
  declare?: boolean;
}

export interface InboxConsumerOptions<Tx = SqlExecutor, Events extends EventMap = EventMap> {
  /**
   * A rabbitmq-client Connection you own (left open on `close()`), or an amqp:// URL the consumer
   * opens and closes.
   * @example 'amqp://guest:guest@127.0.0.1:5672'
   */
  connection: Connection | string;
  /** The queue to consume. Declared durable unless `declareQueue` is false. */
  queue: string;
  /**
   * This consumer's name in the inbox: one key space per name, so several services (or several
   * handlers of one service) can share one inbox table. Keep it stable: renaming it forgets
   * everything processed so far.
   * @example 'billing.invoice-on-order-placed'
   */
  consumer: string;
  /**
   * Where the handler's transaction runs: a SqlDatabase (pgDatabase, mysqlDatabase,
   * openSqliteDatabase) or an ORM adapter `{ transaction(fn), executor(tx) }`.
   */
  db: InboxDatabase<Tx>;
  /** The dialect of that database (createPostgresDialect(), ...), migrated to version 2 or later. */
  dialect: InboxDialect;
  /**
   * Applies one event with the transaction. Write your effects through `tx` only: anything
   * outside the transaction (HTTP calls, e-mails) is NOT protected by the inbox. `event` is typed
   * by the consumer's event map (`createInboxConsumer<Events>`): `event.type` narrows `event.payload`.
   */
  handler: InboxHandler<Tx, Events>;
  /**
   * Messages in flight to this consumer (AMQP prefetch). At least `concurrency`.
   * @default 8
   */
  prefetch?: number;
  /**
   * Handlers running at once. Each holds one database transaction (one pooled connection).
   * @default 4
   */
  concurrency?: number;
  /**
   * Handler runs per message, the first included, before it is dead-lettered.
   * @default 5
   */
  maxAttempts?: number;
  /**
   * Wait after a failed run before the message is put back at the tail of the queue.
   * @default 1000
   */
  retryDelayMs?: number;
  /** Dead-letter topology. */
  deadLetter?: DeadLetterOptions;
  /**
   * Apply events of one aggregate strictly in sequence order. `true` for the defaults.
   * @default false
   */
  ordering?: boolean | InboxOrderingOptions;
  /**
   * Declare `queue` (durable) at start and after every reconnect; false checks it exists
   * (passive) so a queue with other arguments (quorum, TTL) is used as it is.
   * @default true
   */
  declareQueue?: boolean;
  /** Bindings declared with the queue, e.g. `[{ exchange: 'outbox.events', routingKey: 'order.#' }]`. */
  bindings?: readonly { exchange: string; routingKey: string }[];
  /**
   * Declare the exchange of every binding before binding to it, exactly as the relay declares
   * its exchange (topic, durable), so the consumer may start before the relay ever ran. Turn off
   * when the exchanges are managed elsewhere (another type, no configure permission): they must
   * then exist, or `ready()` rejects with the broker's NOT_FOUND.
   * @default true
   */
  declareExchanges?: boolean;
  observer?: InboxObserver;
}

export interface NormalizedInboxConsumerOptions<Tx> {
  readonly connection: { readonly kind: 'shared'; readonly instance: Connection } | { readonly kind: 'owned'; readonly url: string };
  readonly queue: string;
  readonly consumer: string;
  readonly db: InboxDatabase<Tx>;
  readonly dialect: InboxDialect;
  readonly handler: InboxHandler<Tx>;
  readonly prefetch: number;
  readonly concurrency: number;
  readonly maxAttempts: number;
  readonly retryDelayMs: number;
  readonly deadLetter: { readonly exchange: string; readonly queue: string | null; readonly declare: boolean };
  readonly ordering: { readonly acceptFirstSeen: boolean; readonly maxHolds: number; readonly holdDelayMs: number } | null;
  readonly declareQueue: boolean;
  readonly bindings: readonly { readonly exchange: string; readonly routingKey: string }[];
  readonly declareExchanges: boolean;
  readonly observer: InboxObserver;
}

/** Defaults of every inbox consumer option, in one place. */
export const INBOX_CONSUMER_DEFAULTS = Object.freeze({
  prefetch: 8,
  concurrency: 4,
  maxAttempts: 5,
  retryDelayMs: 1000,
  ordering: Object.freeze({ acceptFirstSeen: false, maxHolds: 100, holdDelayMs: 200 }),
});

// AMQP short strings: 255 bytes; the derived `.dlx` / `.dead` names need room.
const MAX_QUEUE_NAME = 250;
const MAX_DELAY_MS = 3_600_000;
const KNOWN_OPTIONS = new Set([
  'connection',
  'queue',
  'consumer',
  'db',
  'dialect',
  'handler',
  'prefetch',
  'concurrency',
  'maxAttempts',
  'retryDelayMs',
  'deadLetter',
  'ordering',
  'declareQueue',
  'bindings',
  'declareExchanges',
  'observer',
]);

/**
 * Validates `createInboxConsumer` options once and fills in the defaults. Throws
 * {@link OutboxConfigError} naming the option.
 */
export function normalizeInboxConsumerOptions<Tx, Events extends EventMap = EventMap>(
  options: InboxConsumerOptions<Tx, Events>,
): NormalizedInboxConsumerOptions<Tx> {
  if (options === null || typeof options !== 'object') {
    throw new OutboxConfigError('options', 'expected an object like { connection, queue, consumer, db, dialect, handler }');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new OutboxConfigError(key, `unknown option; known: ${[...KNOWN_OPTIONS].join(', ')}`);
  }
  const queue = name(options.queue, 'queue', MAX_QUEUE_NAME);
  const consumer = name(options.consumer, 'consumer', MAX_INBOX_KEY_LENGTH);
  if (typeof options.db?.transaction !== 'function') {
    throw new OutboxConfigError('db', 'expected a SqlDatabase or { transaction(fn), executor(tx) }');
  }
  if (typeof options.dialect?.inboxInsert !== 'function' || typeof options.dialect.advanceInboxSequence !== 'function') {
    throw new OutboxConfigError('dialect', 'expected a dialect with the inbox methods (createPostgresDialect(), createMysqlDialect(), createSqliteDialect())');
  }
  if (typeof options.handler !== 'function') throw new OutboxConfigError('handler', 'expected an async function (event, tx) => void');
  const defaults = INBOX_CONSUMER_DEFAULTS;
  const concurrency = integerOption(options.concurrency, 'concurrency', defaults.concurrency, 1, 1000);
  const prefetch = integerOption(options.prefetch, 'prefetch', Math.max(defaults.prefetch, concurrency), 1, 65_535);
  if (prefetch < concurrency) {
    throw new OutboxConfigError(
      'prefetch',
      `must be at least concurrency (${concurrency}), got ${prefetch}: handlers beyond the prefetch would never get a message`,
    );
  }
  return Object.freeze({
    connection: normalizeConnection(options.connection),
    queue,
    consumer,
    db: options.db,
    dialect: options.dialect,
    handler: untypedHandler(options.handler),
    prefetch,
    concurrency,
    maxAttempts: integerOption(options.maxAttempts, 'maxAttempts', defaults.maxAttempts, 1, 1000),
    retryDelayMs: integerOption(options.retryDelayMs, 'retryDelayMs', defaults.retryDelayMs, 0, MAX_DELAY_MS),
    deadLetter: normalizeDeadLetter(options.deadLetter, queue),
    ordering: normalizeOrdering(options.ordering),
    declareQueue: booleanOption(options.declareQueue, 'declareQueue', true),
    bindings: normalizeBindings(options.bindings),
    declareExchanges: booleanOption(options.declareExchanges, 'declareExchanges', true),
    observer: options.observer ?? {},
  });
}

function normalizeDeadLetter(value: DeadLetterOptions | undefined, queue: string): NormalizedInboxConsumerOptions<unknown>['deadLetter'] {
  const options = value ?? {};
  if (typeof options !== 'object' || options === null) throw new OutboxConfigError('deadLetter', 'expected an object like { exchange, queue, declare }');
  return Object.freeze({
    exchange: options.exchange === undefined ? `${queue}.dlx` : name(options.exchange, 'deadLetter.exchange', 255),
    queue: options.queue === null ? null : options.queue === undefined ? `${queue}.dead` : name(options.queue, 'deadLetter.queue', 255),
    declare: booleanOption(options.declare, 'deadLetter.declare', true),
  });
}

function normalizeOrdering(value: boolean | InboxOrderingOptions | undefined): NormalizedInboxConsumerOptions<unknown>['ordering'] {
  if (value === undefined || value === false) return null;
  const options = value === true ? {} : value;
  if (typeof options !== 'object' || options === null)
    throw new OutboxConfigError('ordering', 'expected true, false or { acceptFirstSeen, maxHolds, holdDelayMs }');
  const defaults = INBOX_CONSUMER_DEFAULTS.ordering;
  return Object.freeze({
    acceptFirstSeen: booleanOption(options.acceptFirstSeen, 'ordering.acceptFirstSeen', defaults.acceptFirstSeen),
    maxHolds: integerOption(options.maxHolds, 'ordering.maxHolds', defaults.maxHolds, 1, 1_000_000),
    holdDelayMs: integerOption(options.holdDelayMs, 'ordering.holdDelayMs', defaults.holdDelayMs, 0, MAX_DELAY_MS),
  });
}

function normalizeBindings(value: InboxConsumerOptions['bindings']): NormalizedInboxConsumerOptions<unknown>['bindings'] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new OutboxConfigError('bindings', 'expected an array of { exchange, routingKey }');
  return Object.freeze(
    value.map((binding, index) => {
      if (binding === null || typeof binding !== 'object' || typeof binding.routingKey !== 'string') {
        throw new OutboxConfigError(`bindings[${index}]`, 'expected { exchange, routingKey } with a string routingKey');
      }
      return Object.freeze({ exchange: name(binding.exchange, `bindings[${index}].exchange`, 255), routingKey: binding.routingKey });
    }),
  );
}

function name(value: unknown, option: string, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    throw new OutboxConfigError(
      option,
      `must be a non-empty string of at most ${max} characters, got ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value}`,
    );
  }
  return value;
}

function normalizeConnection(connection: unknown): NormalizedInboxConsumerOptions<unknown>['connection'] {
  if (typeof connection === 'string') {
    let parsed: URL;
    try {
      parsed = new URL(connection);
    } catch {
      throw new OutboxConfigError('connection', `${redactUrl(connection)} is not a valid URL; expected amqp://user:password@host:5672/vhost`);
    }
    if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
      throw new OutboxConfigError('connection', `${redactUrl(connection)} uses ${parsed.protocol}; use an amqp:// or amqps:// URL`);
    }
    return { kind: 'owned', url: connection };
  }
  // Structural: two copies of rabbitmq-client would defeat `instanceof`.
  if (connection !== null && typeof connection === 'object' && typeof (connection as Connection).createConsumer === 'function') {
    return { kind: 'shared', instance: connection as Connection };
  }
  throw new OutboxConfigError('connection', 'expected an amqp:// URL or a rabbitmq-client Connection');
}
