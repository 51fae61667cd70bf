import { encodeMessage, NATIVE_MESSAGE_FORMAT, PublishError, type NormalizedMessageFormat, type StoredEvent } from '@outboxkit/core';

/** SQS (and SNS-to-SQS delivery) carries at most this many message attributes. */
export const MAX_MESSAGE_ATTRIBUTES = 10;

// SQS attribute names: letters, digits, `-`, `_`, `.`; no leading/trailing or doubled `.`; not `AWS.`/`Amazon.`.
const ATTRIBUTE_NAME = /^(?!\.)(?!.*\.\.)(?!.*\.$)(?!aws\.)(?!amazon\.)[A-Za-z0-9_.-]{1,256}$/i;

/** One message attribute as both SQS and SNS take it. */
export interface StringAttribute {
  readonly DataType: 'String';
  readonly StringValue: string;
}

/** The message for one event: the payload as the body, each header a String message attribute. */
export interface AwsMessage {
  readonly body: string;
  readonly attributes: Record<string, StringAttribute>;
  /** What AWS counts against the size limit: body, attribute names, types and values, in bytes. */
  readonly bytes: number;
}

/**
 * Maps a stored event to its SQS/SNS message in `format` (native by default): the JSON payload as
 * the body, unchanged, and core's headers (`x-outbox-event-id`, ...) plus the event's own (trace
 * context) as String attributes; or, `cloudevents-structured`, the JSON CloudEvent as the body and
 * a `content-type` attribute. SQS carries at most 10 attributes and core uses 6 (7 for an event
 * with an expiry, `x-outbox-expires-at`; structured: 1), so a native event may add at most 4 (3) headers of its own; one with more, with an empty value or with a name SQS does not take fails permanently
 * (`rejected`) instead of reaching consumers without some of its headers.
 *
 * @example
 * const { body, attributes } = toAwsMessage(event); // SendMessage({ MessageBody: body, MessageAttributes: attributes })
 */
export function toAwsMessage(
  event: StoredEvent,
  trace: Readonly<Record<string, string>> = {},
  format: NormalizedMessageFormat = NATIVE_MESSAGE_FORMAT,
): AwsMessage {
  const { headers, body: bytesOfBody } = encodeMessage(event, format, trace);
  const names = Object.keys(headers);
  if (names.length > MAX_MESSAGE_ATTRIBUTES) {
    throw new PublishError(
      'rejected',
      `event ${event.id} has ${names.length} headers (${names.join(', ')}); SQS and SNS carry at most ${MAX_MESSAGE_ATTRIBUTES} message attributes, outboxkit's own included, ` +
        "so drop some of the event's own headers (put data in the payload instead)",
    );
  }
  const body = bytesOfBody.toString('utf8');
  let bytes = Buffer.byteLength(body);
  const attributes: Record<string, StringAttribute> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (!ATTRIBUTE_NAME.test(name)) {
      throw new PublishError(
        'rejected',
        `event ${event.id} has a header named ${JSON.stringify(name)}, which SQS/SNS do not take as an attribute name (letters, digits, - _ . only); rename it`,
      );
    }
    if (value === '')
      throw new PublishError('rejected', `event ${event.id} has an empty header "${name}"; SQS/SNS refuse empty attribute values, so drop or fill it`);
    attributes[name] = { DataType: 'String', StringValue: value };
    bytes += Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value);
  }
  return { body, attributes, bytes };
}

/** A received SQS message, as `ReceiveMessage` returns it (with `MessageAttributeNames: ['All']`). */
export interface ReceivedSqsMessage {
  readonly Body?: string | undefined;
  readonly MessageAttributes?: Readonly<Record<string, { readonly StringValue?: string | undefined }>> | undefined;
}

/**
 * Headers and body of a received message, whether the queue got it from the publisher directly,
 * from SNS with raw message delivery (attributes as message attributes), or from SNS without it
 * (the body is SNS's JSON notification holding `Message` and `MessageAttributes`).
 */
export function fromSqsMessage(message: ReceivedSqsMessage): { headers: Record<string, string>; body: string } {
  const headers: Record<string, string> = {};
  for (const [name, attribute] of Object.entries(message.MessageAttributes ?? {})) {
    if (attribute.StringValue !== undefined) headers[name] = attribute.StringValue;
  }
  const body = message.Body ?? '';
  if (Object.keys(headers).length === 0) {
    const notification = snsNotification(body);
    if (notification !== null) return notification;
  }
  return { headers, body };
}

function snsNotification(body: string): { headers: Record<string, string>; body: string } | null {
  if (!body.startsWith('{') || !body.includes('"TopicArn"')) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  const { Type, Message, MessageAttributes } = (parsed ?? {}) as { Type?: unknown; Message?: unknown; MessageAttributes?: unknown };
  if (Type !== 'Notification' || typeof Message !== 'string') return null;
  const headers: Record<string, string> = {};
  for (const [name, attribute] of Object.entries((MessageAttributes ?? {}) as Record<string, { Value?: unknown }>)) {
    if (typeof attribute?.Value === 'string') headers[name] = attribute.Value;
  }
  return { headers, body: Message };
}
