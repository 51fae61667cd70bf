import {
  cloudEventAttributes,
  CLOUDEVENTS_JSON_CONTENT_TYPE,
  headersBesideCloudEvent,
  NATIVE_MESSAGE_FORMAT,
  OutboxError,
  structuredCloudEvent,
  type NormalizedMessageFormat,
  type StoredEvent,
} from '@outboxkit/core';

/** Header names outboxkit adds to every message (the `x-outbox-` prefix is reserved in envelopes). */
export const OUTBOX_HEADERS = Object.freeze({
  aggregateType: 'x-outbox-aggregate-type',
  aggregateId: 'x-outbox-aggregate-id',
  sequence: 'x-outbox-sequence',
  occurredAt: 'x-outbox-occurred-at',
  /**
   * ISO-8601, only on events written with `expiresAt` or `ttlMs`. Not the AMQP `expiration`
   * property: that would let the broker drop a replayed event, or one an operator retried with
   * `--ignore-expiry`, which the operator chose to deliver late (docs/operations.md, "Expiry").
   */
  expiresAt: 'x-outbox-expires-at',
  /**
   * The event id again, next to the AMQP `message-id` property: bridges, shovels and other
   * clients sometimes drop or rewrite `message-id`, while headers travel unchanged. The inbox
   * consumer dedupes on it (see docs/consumers.md).
   */
  eventId: 'x-outbox-event-id',
});

/**
 * The application-property prefix of CloudEvents attributes in binary mode, as the AMQP binding
 * names it. Consumers also accept `cloudEvents_`, the JMS-compatible spelling of earlier drafts.
 */
export const AMQP_CLOUDEVENTS_PREFIX = 'cloudEvents:';
export const AMQP_CLOUDEVENTS_PREFIXES: readonly string[] = Object.freeze([AMQP_CLOUDEVENTS_PREFIX, 'cloudEvents_']);

/** The AMQP basic properties of an outbox message (everything but exchange and routing key). */
export interface AmqpMessageProperties {
  readonly messageId: string;
  readonly type: string;
  /** Seconds since the epoch (AMQP timestamps have no milliseconds; the header keeps them). */
  readonly timestamp: number;
  /** `application/cloudevents+json` for a structured-mode CloudEvent. */
  readonly contentType: 'application/json' | typeof CLOUDEVENTS_JSON_CONTENT_TYPE;
  readonly contentEncoding: 'utf-8';
  /** Persistent delivery: survives a broker restart once in a durable queue. */
  readonly deliveryMode: 2;
  readonly durable: true;
  /** Unroutable messages come back as `basic.return` instead of being dropped silently. */
  readonly mandatory: true;
  readonly appId: 'outboxkit';
  readonly headers: Readonly<Record<string, string | number>>;
}

type AmqpHeaders = AmqpMessageProperties['headers'];

export interface AmqpMessage {
  readonly properties: AmqpMessageProperties;
  /** The payload as UTF-8 JSON. */
  readonly body: Buffer;
}

/**
 * Maps a stored event to the AMQP message the publisher sends: `trace` is the publish span's
 * context, which replaces the writer's; `format` the publisher's (native by default). The same
 * argument order as the other brokers' `toNatsMessage`, `toStreamFields`, ...
 * Replay and tests use this same function, so there is one wire format. Every format keeps the
 * AMQP `message-id` (the event id) and `type` properties, which tools and dedupe rely on.
 *
 * @example
 * const { properties, body } = toAmqpMessage(event);
 * await rabbitPublisher.send({ exchange: 'outbox.events', routingKey: event.type, ...properties }, body);
 */
export function toAmqpMessage(
  event: StoredEvent,
  trace: Readonly<Record<string, string>> = {},
  format: NormalizedMessageFormat = NATIVE_MESSAGE_FORMAT,
): AmqpMessage {
  const { headers, contentType, body } = amqpContent(event, format, trace);
  return {
    properties: {
      messageId: event.id,
      type: event.type,
      timestamp: Math.floor(event.occurredAt.getTime() / 1000),
      contentType,
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      durable: true,
      mandatory: true,
      appId: 'outboxkit',
      headers,
    },
    body,
  };
}

function amqpContent(
  event: StoredEvent,
  format: NormalizedMessageFormat,
  trace: Readonly<Record<string, string>>,
): { headers: AmqpHeaders; contentType: AmqpMessageProperties['contentType']; body: Buffer } {
  const payload = (): Buffer => Buffer.from(JSON.stringify(event.payload), 'utf8');
  if (format.format === 'native') {
    const headers = {
      ...event.headers,
      ...trace,
      [OUTBOX_HEADERS.aggregateType]: event.aggregateType,
      [OUTBOX_HEADERS.aggregateId]: event.aggregateId,
      [OUTBOX_HEADERS.sequence]: event.sequence,
      [OUTBOX_HEADERS.occurredAt]: event.occurredAt.toISOString(),
      [OUTBOX_HEADERS.eventId]: event.id,
      ...(event.expiresAt === null ? {} : { [OUTBOX_HEADERS.expiresAt]: event.expiresAt.toISOString() }),
    };
    return { headers, contentType: 'application/json', body: payload() };
  }
  if (format.format === 'cloudevents-structured') {
    return {
      headers: headersBesideCloudEvent(event),
      contentType: CLOUDEVENTS_JSON_CONTENT_TYPE,
      body: structuredCloudEvent(event, format.cloudEventsSource, trace),
    };
  }
  // Binary mode: datacontenttype is the AMQP content-type; every other attribute an
  // application property (the Integer outboxsequence as an AMQP long, the rest strings).
  const { datacontenttype: _contentType, ...attributes } = cloudEventAttributes(event, format.cloudEventsSource, trace);
  const headers: Record<string, string | number> = headersBesideCloudEvent(event);
  for (const [name, value] of Object.entries(attributes)) headers[`${AMQP_CLOUDEVENTS_PREFIX}${name}`] = value;
  return { headers, contentType: 'application/json', body: payload() };
}

/** What a consumer needs from an outbox message to dedupe and order it. */
export interface OutboxMessageInfo {
  /** The event id (the message's `messageId`), when it was passed in. */
  readonly eventId?: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** 1, 2, 3... per aggregate, in commit order. */
  readonly sequence: number;
  /** Millisecond precision, unlike the AMQP `timestamp` property. */
  readonly occurredAt: Date;
}

/**
 * Reads outboxkit's headers from a received message. Throws an {@link OutboxError} with code
 * `OUTBOX_NOT_AN_OUTBOX_MESSAGE` naming the missing header when the message was not published
 * by outboxkit.
 *
 * @example
 * const consumer = connection.createConsumer({ queue: 'billing' }, async (msg) => {
 *   const { eventId, aggregateId, sequence } = readOutboxHeaders(msg.headers, msg.messageId);
 * });
 */
export function readOutboxHeaders(headers: Readonly<Record<string, unknown>> | undefined, messageId?: string): OutboxMessageInfo {
  const source = headers ?? {};
  const aggregateType = requireString(source, OUTBOX_HEADERS.aggregateType);
  const aggregateId = requireString(source, OUTBOX_HEADERS.aggregateId);
  const sequence = toSequence(source[OUTBOX_HEADERS.sequence]);
  const occurredAt = new Date(requireString(source, OUTBOX_HEADERS.occurredAt));
  if (Number.isNaN(occurredAt.getTime())) throw notOutbox(`${OUTBOX_HEADERS.occurredAt} is not an ISO date`);
  const info = { aggregateType, aggregateId, sequence, occurredAt };
  return messageId === undefined ? info : { eventId: messageId, ...info };
}

function requireString(headers: Readonly<Record<string, unknown>>, name: string): string {
  const value = headers[name];
  if (typeof value !== 'string' || value === '') throw notOutbox(`header ${name} is missing or not a string`);
  return value;
}

/** Other AMQP clients may decode a 64-bit table integer as a bigint or send it as a string. */
function toSequence(value: unknown): number {
  const sequence = typeof value === 'bigint' ? Number(value) : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof sequence !== 'number' || !Number.isSafeInteger(sequence) || sequence < 1) {
    throw notOutbox(`header ${OUTBOX_HEADERS.sequence} must be a positive integer`);
  }
  return sequence;
}

function notOutbox(problem: string): OutboxError {
  return new OutboxError('OUTBOX_NOT_AN_OUTBOX_MESSAGE', `not an outboxkit message: ${problem}`);
}
