import {
  binaryModeAttributes,
  cloudEventAttributes,
  CLOUDEVENTS_JSON_CONTENT_TYPE,
  headersBesideCloudEvent,
  inboxEventOfCloudEvent,
  isStructuredCloudEventContentType,
  parseStructuredCloudEvent,
  structuredCloudEvent,
  type NormalizedMessageFormat,
} from './cloudevents.js';
import { RESERVED_HEADER_PREFIX, type StoredEvent } from './envelope.js';
import { MAX_INBOX_KEY_LENGTH } from './inbox-dialect.js';
import type { InboxEvent } from './inbox.js';
import { parseJsonMessage, UndecodableMessage } from './undecodable.js';

/**
 * The header names every broker's wire format carries, as plain strings (NATS headers, Redis
 * stream fields). A consumer in any language finds the event id in `x-outbox-event-id` whatever
 * the broker; RabbitMQ also sets the AMQP `message-id` and `type` properties.
 */
export const MESSAGE_HEADERS = Object.freeze({
  eventId: `${RESERVED_HEADER_PREFIX}event-id`,
  type: `${RESERVED_HEADER_PREFIX}type`,
  aggregateType: `${RESERVED_HEADER_PREFIX}aggregate-type`,
  aggregateId: `${RESERVED_HEADER_PREFIX}aggregate-id`,
  /** 1, 2, 3... per aggregate, as decimal text. */
  sequence: `${RESERVED_HEADER_PREFIX}sequence`,
  /** ISO-8601 with milliseconds. */
  occurredAt: `${RESERVED_HEADER_PREFIX}occurred-at`,
  /** ISO-8601 with milliseconds; only on events written with `expiresAt` or `ttlMs`. */
  expiresAt: `${RESERVED_HEADER_PREFIX}expires-at`,
});

/**
 * The string headers of the message for `event`: its own headers (trace context first replaced
 * by `trace`, the publish span's context, when given) plus outboxkit's.
 *
 * @example
 * const headers = messageHeaders(event); // { traceparent: '00-…', 'x-outbox-event-id': '0190…', ... }
 */
export function messageHeaders(event: StoredEvent, trace: Readonly<Record<string, string>> = {}): Record<string, string> {
  return {
    ...event.headers,
    ...trace,
    [MESSAGE_HEADERS.eventId]: event.id,
    [MESSAGE_HEADERS.type]: event.type,
    [MESSAGE_HEADERS.aggregateType]: event.aggregateType,
    [MESSAGE_HEADERS.aggregateId]: event.aggregateId,
    [MESSAGE_HEADERS.sequence]: String(event.sequence),
    [MESSAGE_HEADERS.occurredAt]: event.occurredAt.toISOString(),
    ...(event.expiresAt === null ? {} : { [MESSAGE_HEADERS.expiresAt]: event.expiresAt.toISOString() }),
  };
}

export { UndecodableMessage };

/**
 * Where CloudEvents go on the brokers with string headers (NATS headers, Redis stream fields,
 * SQS/SNS message attributes, Pub/Sub attributes): each attribute as a `ce-` header, as the
 * HTTP binding and Google's Pub/Sub binding name them, and `datacontenttype` (binary mode) or the
 * event format (structured mode) as `content-type`. docs/cloudevents.md says which broker has an
 * official binding.
 */
export const CLOUDEVENTS_HEADERS = Object.freeze({ prefix: 'ce-', contentType: 'content-type' });

/** A message in broker-neutral terms, as a publisher sends it: string headers and the body bytes. */
export interface WireMessage {
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/**
 * The headers and body of the message for `event` in `format`, for the brokers with string
 * headers: {@link messageHeaders} and the payload JSON (`native`), `ce-` headers and the payload
 * (`cloudevents-binary`), or the JSON CloudEvent (`cloudevents-structured`). `trace` is the
 * publish span's context.
 *
 * @example
 * const { headers, body } = encodeMessage(event, normalizeMessageFormat({}));
 */
export function encodeMessage(event: StoredEvent, format: NormalizedMessageFormat, trace: Readonly<Record<string, string>> = {}): WireMessage {
  if (format.format === 'native') return { headers: messageHeaders(event, trace), body: Buffer.from(JSON.stringify(event.payload), 'utf8') };
  if (format.format === 'cloudevents-structured') {
    const body = structuredCloudEvent(event, format.cloudEventsSource, trace);
    return { headers: { ...headersBesideCloudEvent(event), [CLOUDEVENTS_HEADERS.contentType]: CLOUDEVENTS_JSON_CONTENT_TYPE }, body };
  }
  const { datacontenttype, ...rest } = cloudEventAttributes(event, format.cloudEventsSource, trace);
  const headers: Record<string, string> = { ...headersBesideCloudEvent(event), [CLOUDEVENTS_HEADERS.contentType]: String(datacontenttype) };
  for (const [name, value] of Object.entries(rest)) headers[`${CLOUDEVENTS_HEADERS.prefix}${name}`] = String(value);
  return { headers, body: Buffer.from(JSON.stringify(event.payload), 'utf8') };
}

/** A received message in broker-neutral terms: string headers, the body, and the broker's own id if it has one. */
export interface ReceivedMessageParts {
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** The payload as UTF-8 JSON text or bytes. */
  readonly body: string | Uint8Array;
  /** The broker's message id (`Nats-Msg-Id`), which must then agree with `x-outbox-event-id`. */
  readonly nativeId?: string | undefined;
}

/**
 * Decodes a message published with {@link messageHeaders} into the event an inbox handler gets.
 * Returns {@link UndecodableMessage} (never throws) naming what is missing, because a consumer
 * must dead-letter such a message rather than crash on it.
 */
export function decodeMessage(message: ReceivedMessageParts): InboxEvent | UndecodableMessage {
  const { headers } = message;
  const cloudEvent = decodeCloudEventMessage(message);
  if (cloudEvent !== null) return cloudEvent;
  const headerId = nonEmpty(headers[MESSAGE_HEADERS.eventId]);
  const nativeId = nonEmpty(message.nativeId);
  if (headerId !== undefined && nativeId !== undefined && headerId !== nativeId) {
    return new UndecodableMessage(`the broker's message id ${nativeId} and header ${MESSAGE_HEADERS.eventId} ${headerId} disagree`);
  }
  const id = headerId ?? nativeId;
  if (id === undefined) return new UndecodableMessage(`no event id: header ${MESSAGE_HEADERS.eventId} is missing`);
  if (id.length > MAX_INBOX_KEY_LENGTH) return new UndecodableMessage(`the event id is longer than ${MAX_INBOX_KEY_LENGTH} characters`);
  const missing = [MESSAGE_HEADERS.type, MESSAGE_HEADERS.aggregateType, MESSAGE_HEADERS.aggregateId, MESSAGE_HEADERS.occurredAt].find(
    (name) => nonEmpty(headers[name]) === undefined,
  );
  if (missing !== undefined) return new UndecodableMessage(`header ${missing} is missing`);
  const sequenceText = headers[MESSAGE_HEADERS.sequence] ?? '';
  const sequence = /^\d{1,15}$/.test(sequenceText) ? Number(sequenceText) : 0;
  if (sequence < 1) return new UndecodableMessage(`header ${MESSAGE_HEADERS.sequence} must be a positive integer`);
  const occurredAt = new Date(headers[MESSAGE_HEADERS.occurredAt]!);
  if (Number.isNaN(occurredAt.getTime())) return new UndecodableMessage(`header ${MESSAGE_HEADERS.occurredAt} is not an ISO date`);
  const payload = parseJsonMessage(message.body, 'the body');
  if (payload instanceof UndecodableMessage) return payload;
  return Object.freeze({
    id,
    type: headers[MESSAGE_HEADERS.type]!,
    aggregateType: headers[MESSAGE_HEADERS.aggregateType]!,
    aggregateId: headers[MESSAGE_HEADERS.aggregateId]!,
    sequence,
    occurredAt,
    payload,
    headers: Object.freeze(eventHeaders(headers)),
  });
}

/**
 * The event of a message in a CloudEvents format (structured: by its content type; binary: by a
 * `ce-specversion` header), or null for a native message (one with `x-outbox-event-id`). Either form hands the handler the same
 * event as the native one.
 */
function decodeCloudEventMessage(message: ReceivedMessageParts): InboxEvent | UndecodableMessage | null {
  // outboxkit's own id header marks a native message, whatever headers of its own the event has.
  if (headerIgnoringCase(message.headers, MESSAGE_HEADERS.eventId) !== undefined) return null;
  const contentType = headerIgnoringCase(message.headers, CLOUDEVENTS_HEADERS.contentType);
  const plain = headersBeside(message.headers);
  let event: InboxEvent | UndecodableMessage;
  if (isStructuredCloudEventContentType(contentType)) {
    const parsed = parseStructuredCloudEvent(message.body);
    if (parsed instanceof UndecodableMessage) return parsed;
    event = inboxEventOfCloudEvent(parsed.attributes, parsed.data, plain);
  } else {
    const attributes = binaryModeAttributes(message.headers, [CLOUDEVENTS_HEADERS.prefix]);
    if (attributes.specversion === undefined) return null;
    const payload = parseJsonMessage(message.body, 'the body');
    if (payload instanceof UndecodableMessage) return payload;
    event = inboxEventOfCloudEvent({ ...attributes, datacontenttype: contentType }, payload, plain);
  }
  const nativeId = nonEmpty(message.nativeId);
  if (!(event instanceof UndecodableMessage) && nativeId !== undefined && nativeId !== event.id) {
    return new UndecodableMessage(`the broker's message id ${nativeId} and the CloudEvent id ${event.id} disagree`);
  }
  return event;
}

/** The headers that are neither CloudEvents attributes nor the content type. */
function headersBeside(headers: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (value !== undefined && !lower.startsWith(CLOUDEVENTS_HEADERS.prefix) && lower !== CLOUDEVENTS_HEADERS.contentType) result[name] = value;
  }
  return result;
}

function headerIgnoringCase(headers: Readonly<Record<string, string | undefined>>, wanted: string): string | undefined {
  for (const [name, value] of Object.entries(headers)) if (name.toLowerCase() === wanted) return value;
  return undefined;
}

/** The event's own headers: everything but outboxkit's `x-outbox-*` ones. */
function eventHeaders(headers: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX)) result[name] = value;
  }
  return result;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
