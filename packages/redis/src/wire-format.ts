import { messageHeaders, RESERVED_HEADER_PREFIX, type StoredEvent } from '@outboxkit/core';

/** The stream field holding the payload (JSON). Every other field is a header: outboxkit's `x-outbox-*` ones, then the event's own. */
export const PAYLOAD_FIELD = `${RESERVED_HEADER_PREFIX}payload`;

/**
 * The fields of the stream entry for one event: core's headers (`x-outbox-event-id`, ...), the
 * event's own headers (trace context), and the payload in `x-outbox-payload`. User headers cannot
 * collide with any of them: the `x-outbox-` prefix is reserved for outboxkit.
 *
 * @example
 * await client.xAdd('outbox:order', '*', toStreamFields(event));
 */
export function toStreamFields(event: StoredEvent, trace: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { ...messageHeaders(event, trace), [PAYLOAD_FIELD]: JSON.stringify(event.payload) };
}

/** Splits an entry's fields into headers and body, the way the consumer and the test collector read them. */
export function fromStreamFields(fields: Readonly<Record<string, string>>): { headers: Record<string, string>; body: string } {
  const { [PAYLOAD_FIELD]: body = '', ...headers } = fields;
  return { headers, body };
}
