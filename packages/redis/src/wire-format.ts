import { encodeMessage, NATIVE_MESSAGE_FORMAT, RESERVED_HEADER_PREFIX, type NormalizedMessageFormat, type StoredEvent } from '@outboxkit/core';

/**
 * The stream field holding the payload (JSON), or in `cloudevents-structured` format the JSON
 * CloudEvent. Every other field is a header: outboxkit's `x-outbox-*` ones (or the `ce-`
 * attributes), then the event's own.
 */
export const PAYLOAD_FIELD = `${RESERVED_HEADER_PREFIX}payload`;

/**
 * The fields of the stream entry for one event in `format` (native by default): core's headers
 * (`x-outbox-event-id`, ..., or the CloudEvents `ce-` ones), the event's own headers (trace
 * context), and the body in `x-outbox-payload`. User headers cannot collide with any of them: the
 * `x-outbox-` prefix is reserved for outboxkit.
 *
 * @example
 * await client.xAdd('outbox:order', '*', toStreamFields(event));
 */
export function toStreamFields(
  event: StoredEvent,
  trace: Readonly<Record<string, string>> = {},
  format: NormalizedMessageFormat = NATIVE_MESSAGE_FORMAT,
): Record<string, string> {
  const { headers, body } = encodeMessage(event, format, trace);
  return { ...headers, [PAYLOAD_FIELD]: body.toString('utf8') };
}

/** Splits an entry's fields into headers and body, the way the consumer and the test collector read them. */
export function fromStreamFields(fields: Readonly<Record<string, string>>): { headers: Record<string, string>; body: string } {
  const { [PAYLOAD_FIELD]: body = '', ...headers } = fields;
  return { headers, body };
}
