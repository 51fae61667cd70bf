import { encodeMessage, NATIVE_MESSAGE_FORMAT, PublishError, type NormalizedMessageFormat, type StoredEvent } from '@outboxkit/core';

const MAX_ATTRIBUTES = 100;
const MAX_KEY_BYTES = 256;
const MAX_VALUE_BYTES = 1024;

/** The Pub/Sub message for one event: the JSON payload (or, structured, the CloudEvent) as data, every header an attribute. */
export interface PubsubMessage {
  readonly data: Buffer;
  readonly attributes: Record<string, string>;
  /** Data plus attribute keys and values, in bytes (what counts against the 10 MB limit). */
  readonly bytes: number;
}

/**
 * Maps a stored event to its Pub/Sub message in `format` (native by default): the payload as data
 * (UTF-8 JSON, unchanged), core's headers (`x-outbox-event-id`, ..., or the CloudEvents `ce-` ones
 * of Google's Pub/Sub binding) and the event's own as attributes. A header Pub/Sub would
 * refuse (more than 100, a name over 256 bytes or starting with `goog`, a value over 1024 bytes)
 * fails permanently (`rejected`) instead of going out without it.
 *
 * @example
 * const { data, attributes } = toPubsubMessage(event);
 */
export function toPubsubMessage(
  event: StoredEvent,
  trace: Readonly<Record<string, string>> = {},
  format: NormalizedMessageFormat = NATIVE_MESSAGE_FORMAT,
): PubsubMessage {
  const { headers: attributes, body: data } = encodeMessage(event, format, trace);
  const names = Object.keys(attributes);
  if (names.length > MAX_ATTRIBUTES)
    throw new PublishError('rejected', `event ${event.id} has ${names.length} headers; Pub/Sub carries at most ${MAX_ATTRIBUTES} attributes`);
  let bytes = data.length;
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith('goog') || Buffer.byteLength(name) > MAX_KEY_BYTES) {
      throw new PublishError(
        'rejected',
        `event ${event.id} has a header named ${JSON.stringify(name.slice(0, 80))}, which Pub/Sub does not take (over ${MAX_KEY_BYTES} bytes or "goog" prefix); rename it`,
      );
    }
    if (Buffer.byteLength(value) > MAX_VALUE_BYTES) {
      throw new PublishError(
        'rejected',
        `event ${event.id} has a header "${name}" over ${MAX_VALUE_BYTES} bytes, Pub/Sub's attribute limit; move that data into the payload`,
      );
    }
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value);
  }
  return { data, attributes, bytes };
}
