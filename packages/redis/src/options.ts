import {
  booleanOption,
  integerOption,
  MESSAGE_FORMAT_OPTION_NAMES,
  normalizeMessageFormat,
  OutboxConfigError,
  type MessageFormatOptions,
  type NormalizedMessageFormat,
  type StoredEvent,
} from '@outboxkit/core';
import { normalizeRedisConnection, type RedisClient, type RedisConnectionTarget } from './connection.js';

/** `format` and `cloudEventsSource` choose the wire format: outboxkit's headers or a CloudEvent (docs/cloudevents.md). */
export interface RedisPublisherOptions extends MessageFormatOptions {
  /**
   * A node-redis client you own (connected or not; the publisher leaves it open on `close()`), or
   * a `redis://` / `rediss://` URL: the publisher then connects, reconnects for ever, and closes
   * on `close()`.
   * @example 'redis://127.0.0.1:6379'
   */
  connection: RedisClient | string;
  /**
   * First part of the default stream key `<streamPrefix>:<aggregateType>`.
   * @default 'outbox'
   */
  streamPrefix?: string;
  /**
   * Trim each stream to about this many entries (`XADD ... MAXLEN ~ n`). Trimming deletes the
   * oldest entries whether or not every consumer group has read them: size it for the slowest
   * consumer's lag. Null: never trim.
   * @default null
   */
  maxLength?: number | null;
  /**
   * Create a stream on its first event (plain `XADD`). `false` sends `XADD NOMKSTREAM`: an event
   * routed to a stream that does not exist fails as a permanent `invalid-destination`.
   * @default true
   */
  createStreams?: boolean;
  /**
   * Budget of one publish, from the call to Redis's reply (waiting for the connection included).
   * Past it the publish fails as a transient `timeout`.
   * @default 10000
   */
  replyTimeoutMs?: number;
  /**
   * Largest payload in bytes; larger events fail as a permanent `too-large` before anything is sent.
   * @default 16777216 (16 MiB)
   */
  maxMessageBytes?: number;
  /**
   * Your own routing rule, replacing the default one: the stream key for an event.
   * @example (event) => `billing:${event.type}`
   */
  route?: (event: StoredEvent) => string;
}

export interface NormalizedRedisPublisherOptions {
  readonly connection: RedisConnectionTarget;
  readonly streamPrefix: string;
  readonly maxLength: number | null;
  readonly createStreams: boolean;
  readonly replyTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly route: ((event: StoredEvent) => string) | null;
  /** `native`, or a CloudEvents mode with its source. */
  readonly messageFormat: NormalizedMessageFormat;
}

export const REDIS_PUBLISHER_DEFAULTS = Object.freeze({
  streamPrefix: 'outbox',
  maxLength: null as number | null,
  createStreams: true,
  replyTimeoutMs: 10_000,
  maxMessageBytes: 16 * 1024 * 1024,
});

const MAX_TIMER_MS = 2_147_483_647;
// Redis's proto-max-bulk-len default.
const MAX_BULK_BYTES = 512 * 1024 * 1024;
const KNOWN_OPTIONS = new Set([
  'connection',
  'streamPrefix',
  'maxLength',
  'createStreams',
  'replyTimeoutMs',
  'maxMessageBytes',
  'route',
  ...MESSAGE_FORMAT_OPTION_NAMES,
]);

/**
 * Validates `createRedisPublisher` options once and fills in defaults. Throws
 * {@link OutboxConfigError} naming the option and its allowed values.
 */
export function normalizeRedisPublisherOptions(options: RedisPublisherOptions): NormalizedRedisPublisherOptions {
  if (options === null || typeof options !== 'object')
    throw new OutboxConfigError('options', 'expected an object like { connection: "redis://127.0.0.1:6379" }');
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new OutboxConfigError(key, `unknown option; known: ${[...KNOWN_OPTIONS].join(', ')}`);
  }
  const defaults = REDIS_PUBLISHER_DEFAULTS;
  const streamPrefix = options.streamPrefix ?? defaults.streamPrefix;
  if (typeof streamPrefix !== 'string' || streamPrefix.trim() === '' || streamPrefix.length > 255) {
    throw new OutboxConfigError('streamPrefix', `must be a non-blank string of at most 255 characters, got ${JSON.stringify(streamPrefix)}`);
  }
  const route = options.route ?? null;
  if (route !== null && typeof route !== 'function') throw new OutboxConfigError('route', 'must be a function (event) => stream key');
  const maxLength =
    options.maxLength === undefined || options.maxLength === null ? null : integerOption(options.maxLength, 'maxLength', 0, 1, Number.MAX_SAFE_INTEGER);
  return Object.freeze({
    connection: normalizeRedisConnection(options.connection),
    streamPrefix,
    maxLength,
    createStreams: booleanOption(options.createStreams, 'createStreams', defaults.createStreams),
    replyTimeoutMs: integerOption(options.replyTimeoutMs, 'replyTimeoutMs', defaults.replyTimeoutMs, 1, MAX_TIMER_MS),
    maxMessageBytes: integerOption(options.maxMessageBytes, 'maxMessageBytes', defaults.maxMessageBytes, 1, MAX_BULK_BYTES),
    route,
    messageFormat: normalizeMessageFormat(options),
  });
}
