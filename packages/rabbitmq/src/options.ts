import {
  normalizeMessageFormat,
  OutboxConfigError,
  redactUrl,
  type MessageFormatOptions,
  type NormalizedMessageFormat,
  type StoredEvent,
} from '@outboxkit/core';
import type { Connection } from 'rabbitmq-client';
import { isExchangeName, type Route } from './routing.js';

/** Exchange types RabbitMQ ships with. */
export type ExchangeType = 'topic' | 'direct' | 'fanout' | 'headers';

/** `format` and `cloudEventsSource` choose the wire format: outboxkit's headers or a CloudEvent (docs/cloudevents.md). */
export interface RabbitPublisherOptions extends MessageFormatOptions {
  /**
   * A `rabbitmq-client` Connection you own (the publisher leaves it open on `close()`), or an
   * `amqp://` / `amqps://` URL: the publisher then opens the connection and closes it on `close()`.
   * @example 'amqp://guest:guest@127.0.0.1:5672'
   */
  connection: Connection | string;
  /**
   * The exchange events go to when their destination does not name one.
   * @default 'outbox.events'
   */
  exchange?: string;
  /**
   * Type of `exchange` when the publisher declares it.
   * @default 'topic'
   */
  exchangeType?: ExchangeType;
  /**
   * Declare `exchange` (durable) before the first publish and after every reconnect. Turn off
   * when the application has no configure permission and the exchange is managed elsewhere.
   * @default true
   */
  declareExchange?: boolean;
  /**
   * How long one publish may take, from the call to the broker's confirm (including waiting
   * for the connection). Past it the publish fails with a transient `timeout`.
   * @default 10000
   */
  confirmTimeoutMs?: number;
  /**
   * Largest message body in bytes. Larger events fail with a permanent `too-large` before
   * anything is sent. Keep it at or below the broker's `max_message_size`.
   * @default 16777216 (16 MiB)
   */
  maxMessageBytes?: number;
  /**
   * Your own routing rule, replacing the default one (see the README's routing rules).
   * @example (event) => ({ exchange: 'billing', routingKey: `${event.aggregateType}.${event.type}` })
   */
  route?: (event: StoredEvent) => Route;
}

/** The options after validation and defaults; frozen. */
export interface NormalizedRabbitPublisherOptions {
  /** A connection to use as is, or the URL of one to open (and own). */
  readonly connection: { readonly kind: 'shared'; readonly instance: Connection } | { readonly kind: 'owned'; readonly url: string };
  readonly exchange: string;
  readonly exchangeType: ExchangeType;
  readonly declareExchange: boolean;
  readonly confirmTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly route: ((event: StoredEvent) => Route) | null;
  /** `native`, or a CloudEvents mode with its source. */
  readonly messageFormat: NormalizedMessageFormat;
}

export const RABBIT_PUBLISHER_DEFAULTS = Object.freeze({
  exchange: 'outbox.events',
  exchangeType: 'topic' as ExchangeType,
  declareExchange: true,
  confirmTimeoutMs: 10_000,
  maxMessageBytes: 16 * 1024 * 1024,
});

const EXCHANGE_TYPES: readonly ExchangeType[] = ['topic', 'direct', 'fanout', 'headers'];
// setTimeout fires at once for larger delays, which would turn every publish into a timeout.
const MAX_TIMER_MS = 2_147_483_647;
// RabbitMQ refuses bodies above 512 MiB whatever max_message_size says.
const MAX_BROKER_MESSAGE_BYTES = 512 * 1024 * 1024;

/**
 * Validates `createRabbitPublisher` options once and fills in defaults. Throws
 * {@link OutboxConfigError} naming the option and its allowed values.
 *
 * @example
 * normalizeRabbitPublisherOptions({ connection: 'amqp://localhost', confirmTimeoutMs: 5000 });
 */
export function normalizeRabbitPublisherOptions(options: RabbitPublisherOptions): NormalizedRabbitPublisherOptions {
  if (options === null || typeof options !== 'object') {
    throw new OutboxConfigError('options', 'expected an object like { connection: "amqp://..." }');
  }
  const defaults = RABBIT_PUBLISHER_DEFAULTS;
  const exchange = options.exchange ?? defaults.exchange;
  if (!isExchangeName(exchange)) {
    throw new OutboxConfigError('exchange', `${describe(exchange)} is not a usable exchange name: use 1-255 letters, digits, "-", "_", "." or ":"`);
  }
  const exchangeType = options.exchangeType ?? defaults.exchangeType;
  if (!EXCHANGE_TYPES.includes(exchangeType)) {
    throw new OutboxConfigError('exchangeType', `${describe(exchangeType)} is not supported; use one of ${EXCHANGE_TYPES.join(', ')}`);
  }
  const declareExchange = options.declareExchange ?? defaults.declareExchange;
  if (typeof declareExchange !== 'boolean') {
    throw new OutboxConfigError('declareExchange', `must be true or false, got ${describe(declareExchange)}`);
  }
  const route = options.route ?? null;
  if (route !== null && typeof route !== 'function') {
    throw new OutboxConfigError('route', `must be a function (event) => ({ exchange, routingKey }), got ${describe(route)}`);
  }
  return Object.freeze({
    connection: normalizeConnection(options.connection),
    exchange,
    exchangeType,
    declareExchange,
    confirmTimeoutMs: integerInRange(options.confirmTimeoutMs ?? defaults.confirmTimeoutMs, 'confirmTimeoutMs', 1, MAX_TIMER_MS),
    maxMessageBytes: integerInRange(options.maxMessageBytes ?? defaults.maxMessageBytes, 'maxMessageBytes', 1, MAX_BROKER_MESSAGE_BYTES),
    route,
    messageFormat: normalizeMessageFormat(options),
  });
}

function normalizeConnection(connection: unknown): NormalizedRabbitPublisherOptions['connection'] {
  if (typeof connection === 'string') return { kind: 'owned', url: validateAmqpUrl(connection) };
  // Structural check: `instanceof` fails when the application and this package resolve two
  // copies of rabbitmq-client.
  if (connection !== null && typeof connection === 'object' && typeof (connection as Connection).createPublisher === 'function') {
    return { kind: 'shared', instance: connection as Connection };
  }
  throw new OutboxConfigError('connection', `expected an amqp:// URL or a rabbitmq-client Connection, got ${describe(connection)}`);
}

/**
 * Parses the URL the way rabbitmq-client will, so a typo fails at startup rather than on every
 * publish. The parser's own error is not kept as `cause`: Node attaches the raw input (with its
 * password) to URL errors.
 */
function validateAmqpUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OutboxConfigError('connection', `${redactUrl(url)} is not a valid URL; expected amqp://user:password@host:5672/vhost`);
  }
  if (parsed.protocol !== 'amqp:' && parsed.protocol !== 'amqps:') {
    throw new OutboxConfigError('connection', `${redactUrl(url)} uses ${parsed.protocol}; use an amqp:// or amqps:// URL`);
  }
  if (parsed.hostname === '') {
    throw new OutboxConfigError('connection', `${redactUrl(url)} has no host; expected amqp://user:password@host:5672/vhost`);
  }
  return url;
}

function integerInRange(value: unknown, option: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OutboxConfigError(option, `must be an integer from ${min} to ${max}, got ${describe(value)}`);
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
