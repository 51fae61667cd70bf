import { RESERVED_HEADER_PREFIX, type JsonValue, type StoredEvent } from './envelope.js';
import { MAX_INBOX_KEY_LENGTH } from './inbox-dialect.js';
import type { InboxEvent } from './inbox.js';

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
  };
}

/** A message that cannot be an outbox event (no id, bad JSON...): redelivering it cannot help. */
export class UndecodableMessage {
  constructor(readonly reason: string) {}
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
  let payload: JsonValue;
  try {
    payload = JSON.parse(typeof message.body === 'string' ? message.body : Buffer.from(message.body).toString('utf8')) as JsonValue;
  } catch (error) {
    return new UndecodableMessage(`the body is not JSON: ${(error as Error).message}`);
  }
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
