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
import type { NatsConnection } from '@nats-io/transport-node';
import { isStreamName, isSubjectPrefix } from './routing.js';
import { normalizeNatsConnection, type NatsConnectionTarget } from './connection.js';

/** `format` and `cloudEventsSource` choose the wire format: outboxkit's headers or a CloudEvent (docs/cloudevents.md). */
export interface NatsPublisherOptions extends MessageFormatOptions {
  /**
   * A `NatsConnection` you own (the publisher leaves it open on `close()`), or a `nats://` URL:
   * the publisher then connects, reconnects for ever, and closes on `close()`. Credentials in the
   * URL (`nats://user:password@host:4222`, or `nats://token@host:4222`) never reach logs.
   * @example 'nats://127.0.0.1:4222'
   */
  connection: NatsConnection | string;
  /**
   * First token(s) of the default subject `<subjectPrefix>.<aggregateType>.<type>`.
   * @default 'outbox'
   */
  subjectPrefix?: string;
  /**
   * The JetStream stream that captures `<subjectPrefix>.>`.
   * @default 'OUTBOX'
   */
  stream?: string;
  /**
   * Create `stream` (file storage, subjects `<subjectPrefix>.>`) when it does not exist. An
   * existing stream is used as it is. Turn off when streams are managed elsewhere or the user
   * has no JetStream API permission; a subject no stream captures then fails as a permanent
   * `invalid-destination`.
   * @default true
   */
  declareStream?: boolean;
  /**
   * `duplicate_window` of a stream this publisher creates: a re-publish of one event id within it
   * is dropped by JetStream (the PubAck says `duplicate`). Keep it longer than a relay's lease
   * takeover plus its retry backoff.
   * @default 120000 (2 minutes, the server's default)
   */
  duplicateWindowMs?: number;
  /**
   * Budget of one publish, from the call to the PubAck (waiting for the connection included).
   * Past it the publish fails as a transient `timeout`.
   * @default 10000
   */
  ackTimeoutMs?: number;
  /**
   * Largest payload in bytes; larger events fail as a permanent `too-large` before anything is
   * sent. The server's own `max_payload` (1 MiB by default) applies too, with the same outcome.
   * @default 1048576 (1 MiB)
   */
  maxMessageBytes?: number;
  /**
   * Your own routing rule, replacing the default one.
   * @example (event) => `billing.${event.aggregateType}.${event.type}`
   */
  route?: (event: StoredEvent) => string;
}

/** The options after validation and defaults; frozen. */
export interface NormalizedNatsPublisherOptions {
  readonly connection: NatsConnectionTarget;
  readonly subjectPrefix: string;
  readonly stream: string;
  readonly declareStream: boolean;
  readonly duplicateWindowMs: number;
  readonly ackTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly route: ((event: StoredEvent) => string) | null;
  /** `native`, or a CloudEvents mode with its source. */
  readonly messageFormat: NormalizedMessageFormat;
}

export const NATS_PUBLISHER_DEFAULTS = Object.freeze({
  subjectPrefix: 'outbox',
  stream: 'OUTBOX',
  declareStream: true,
  duplicateWindowMs: 120_000,
  ackTimeoutMs: 10_000,
  maxMessageBytes: 1024 * 1024,
});

// setTimeout fires at once for larger delays, which would turn every publish into a timeout.
const MAX_TIMER_MS = 2_147_483_647;
// NATS servers refuse max_payload above 64 MiB.
const MAX_PAYLOAD_BYTES = 64 * 1024 * 1024;
const KNOWN_OPTIONS = new Set([
  'connection',
  'subjectPrefix',
  'stream',
  'declareStream',
  'duplicateWindowMs',
  'ackTimeoutMs',
  'maxMessageBytes',
  'route',
  ...MESSAGE_FORMAT_OPTION_NAMES,
]);

/**
 * Validates `createNatsPublisher` options once and fills in defaults. Throws
 * {@link OutboxConfigError} naming the option and its allowed values.
 *
 * @example
 * normalizeNatsPublisherOptions({ connection: 'nats://127.0.0.1:4222', subjectPrefix: 'shop' });
 */
export function normalizeNatsPublisherOptions(options: NatsPublisherOptions): NormalizedNatsPublisherOptions {
  if (options === null || typeof options !== 'object') {
    throw new OutboxConfigError('options', 'expected an object like { connection: "nats://127.0.0.1:4222" }');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new OutboxConfigError(key, `unknown option; known: ${[...KNOWN_OPTIONS].join(', ')}`);
  }
  const defaults = NATS_PUBLISHER_DEFAULTS;
  const subjectPrefix = options.subjectPrefix ?? defaults.subjectPrefix;
  if (!isSubjectPrefix(subjectPrefix)) {
    throw new OutboxConfigError(
      'subjectPrefix',
      `${JSON.stringify(subjectPrefix)} is not usable: use dot-separated tokens without spaces, "*" or ">", e.g. "outbox" or "shop.events"`,
    );
  }
  const stream = options.stream ?? defaults.stream;
  if (!isStreamName(stream)) {
    throw new OutboxConfigError(
      'stream',
      `${JSON.stringify(stream)} is not a JetStream stream name: 1-255 characters without spaces, ".", "*", ">", "/" or "\\"`,
    );
  }
  const route = options.route ?? null;
  if (route !== null && typeof route !== 'function') throw new OutboxConfigError('route', 'must be a function (event) => subject');
  return Object.freeze({
    connection: normalizeNatsConnection(options.connection),
    subjectPrefix,
    stream,
    declareStream: booleanOption(options.declareStream, 'declareStream', defaults.declareStream),
    duplicateWindowMs: integerOption(options.duplicateWindowMs, 'duplicateWindowMs', defaults.duplicateWindowMs, 1000, 7 * 24 * 3_600_000),
    ackTimeoutMs: integerOption(options.ackTimeoutMs, 'ackTimeoutMs', defaults.ackTimeoutMs, 1, MAX_TIMER_MS),
    maxMessageBytes: integerOption(options.maxMessageBytes, 'maxMessageBytes', defaults.maxMessageBytes, 1, MAX_PAYLOAD_BYTES),
    route,
    messageFormat: normalizeMessageFormat(options),
  });
}
