import {
  binaryModeAttributes,
  inboxEventOfCloudEvent,
  isStructuredCloudEventContentType,
  MAX_INBOX_KEY_LENGTH,
  parseStructuredCloudEvent,
  RESERVED_HEADER_PREFIX,
  UndecodableMessage,
  type InboxEvent,
  type JsonValue,
} from '@outboxkit/core';
import type { AsyncMessage, Envelope } from 'rabbitmq-client';
import { AMQP_CLOUDEVENTS_PREFIXES, OUTBOX_HEADERS, readOutboxHeaders } from './wire-format.js';

/** Headers the inbox consumer adds when it republishes a message for a retry or dead-letters it. */
export const INBOX_HEADERS = Object.freeze({
  /** Failed handler runs so far (a number). Absent on a message as the relay published it. */
  attempts: 'x-outbox-attempts',
  /** Times the ordering guard held the message back so far (a number). */
  holds: 'x-outbox-holds',
  /** The last handler error (or why the message was dead-lettered), cut to 1000 characters. */
  error: 'x-outbox-error',
  /** ISO time the message was dead-lettered. */
  deadLetteredAt: 'x-outbox-dead-lettered-at',
  /** The queue the message was consumed from before it was dead-lettered. */
  sourceQueue: 'x-outbox-source-queue',
});

export { UndecodableMessage };

/**
 * Decodes a delivery into the event the handler gets. The id comes from the
 * `x-outbox-event-id` header or the `message-id` property; when both are present they must
 * agree, since deduping on the wrong one would silently merge two events.
 */
export function decodeInboxEvent(message: AsyncMessage): InboxEvent | UndecodableMessage {
  const headers = (message.headers ?? {}) as Record<string, unknown>;
  const cloudEvent = decodeCloudEvent(message, headers);
  if (cloudEvent !== null) return cloudEvent;
  const headerId = typeof headers[OUTBOX_HEADERS.eventId] === 'string' ? (headers[OUTBOX_HEADERS.eventId] as string) : undefined;
  const propertyId = message.messageId === undefined || message.messageId === '' ? undefined : message.messageId;
  if (headerId !== undefined && propertyId !== undefined && headerId !== propertyId) {
    return new UndecodableMessage(`message-id ${propertyId} and header ${OUTBOX_HEADERS.eventId} ${headerId} disagree`);
  }
  const id = headerId ?? propertyId;
  if (id === undefined) return new UndecodableMessage(`no event id: neither message-id nor header ${OUTBOX_HEADERS.eventId} is set`);
  if (id.length > MAX_INBOX_KEY_LENGTH) return new UndecodableMessage(`the event id is longer than ${MAX_INBOX_KEY_LENGTH} characters`);
  if (typeof message.type !== 'string' || message.type === '') return new UndecodableMessage('no type property');
  let info: ReturnType<typeof readOutboxHeaders>;
  try {
    info = readOutboxHeaders(headers);
  } catch (error) {
    return new UndecodableMessage((error as Error).message);
  }
  const payload = decodeBody(message.body);
  if (payload instanceof UndecodableMessage) return payload;
  return Object.freeze({
    id,
    type: message.type,
    aggregateType: info.aggregateType,
    aggregateId: info.aggregateId,
    sequence: info.sequence,
    occurredAt: info.occurredAt,
    payload,
    headers: Object.freeze(userHeaders(headers)),
  });
}

/**
 * The event of a CloudEvent (structured: by the content type; binary: by a
 * `cloudEvents:specversion` application property), or null for a native message. The
 * `message-id` property, when set, must agree with the CloudEvent id the inbox dedupes on.
 */
function decodeCloudEvent(message: AsyncMessage, headers: Record<string, unknown>): InboxEvent | UndecodableMessage | null {
  // outboxkit's own id header marks a native message, whatever headers of its own the event has.
  if (headers[OUTBOX_HEADERS.eventId] !== undefined) return null;
  let event: InboxEvent | UndecodableMessage;
  if (isStructuredCloudEventContentType(message.contentType)) {
    const body = Buffer.isBuffer(message.body) || typeof message.body === 'string' ? message.body : JSON.stringify(message.body);
    const parsed = parseStructuredCloudEvent(body);
    if (parsed instanceof UndecodableMessage) return parsed;
    event = inboxEventOfCloudEvent(parsed.attributes, parsed.data, userHeaders(headers));
  } else {
    const attributes = binaryModeAttributes(headers, AMQP_CLOUDEVENTS_PREFIXES);
    if (attributes.specversion === undefined) return null;
    const payload = decodeBody(message.body);
    if (payload instanceof UndecodableMessage) return payload;
    event = inboxEventOfCloudEvent({ ...attributes, datacontenttype: message.contentType }, payload, userHeaders(headers));
  }
  const propertyId = message.messageId === undefined || message.messageId === '' ? undefined : message.messageId;
  if (!(event instanceof UndecodableMessage) && propertyId !== undefined && propertyId !== event.id) {
    return new UndecodableMessage(`message-id ${propertyId} and the CloudEvent id ${event.id} disagree`);
  }
  return event;
}

/**
 * rabbitmq-client hands over a Buffer when `contentEncoding` is set (outboxkit sets utf-8), but
 * parses `application/json` without an encoding itself and turns `text/plain` into a string.
 */
function decodeBody(body: unknown): JsonValue | UndecodableMessage {
  if (!Buffer.isBuffer(body) && typeof body !== 'string') return body as JsonValue;
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : body;
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    return new UndecodableMessage(`the body is not JSON: ${(error as Error).message}`);
  }
}

/**
 * The event's own string headers; outboxkit's, CloudEvents attributes, and broker-added ones like
 * `x-death` (not strings) are left out.
 */
function userHeaders(headers: Record<string, unknown>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    const reserved = lower.startsWith(RESERVED_HEADER_PREFIX) || AMQP_CLOUDEVENTS_PREFIXES.some((prefix) => lower.startsWith(prefix.toLowerCase()));
    if (!reserved && typeof value === 'string') result[name] = value;
  }
  return result;
}

/** Reads a non-negative counter header written by this consumer (0 when absent or malformed). */
export function counterHeader(message: AsyncMessage, name: string): number {
  const value = message.headers?.[name] as unknown;
  const count = typeof value === 'bigint' ? Number(value) : typeof value === 'string' ? Number(value) : value;
  return typeof count === 'number' && Number.isSafeInteger(count) && count > 0 ? count : 0;
}

/**
 * The properties and body to send a copy of `message` with, plus `headers`. The body is sent as
 * the exact bytes received when there are bytes; a body rabbitmq-client already parsed is
 * serialised back with the same content type.
 */
export function copyOf(message: AsyncMessage, headers: Record<string, unknown>): { envelope: Envelope; body: Buffer } {
  const body = Buffer.isBuffer(message.body)
    ? message.body
    : Buffer.from(typeof message.body === 'string' ? message.body : JSON.stringify(message.body), 'utf8');
  const envelope: Envelope = {
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    messageId: message.messageId,
    correlationId: message.correlationId,
    type: message.type,
    timestamp: message.timestamp,
    appId: message.appId,
    priority: message.priority,
    durable: true,
    headers: { ...message.headers, ...headers },
  };
  // Undefined properties would be encoded as empty values by some clients; leave them out.
  for (const key of Object.keys(envelope) as (keyof Envelope)[]) if (envelope[key] === undefined) delete envelope[key];
  return { envelope, body };
}
