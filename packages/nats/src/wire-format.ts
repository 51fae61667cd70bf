import { encodeMessage, NATIVE_MESSAGE_FORMAT, type NormalizedMessageFormat, type StoredEvent } from '@outboxkit/core';
import { headers as natsHeaders, type MsgHdrs } from '@nats-io/transport-node';

/** The JetStream message for one event: the payload (or, structured, the CloudEvent) as UTF-8 JSON, every header a string. */
export interface NatsMessage {
  readonly data: Uint8Array;
  /** Core's headers (`x-outbox-event-id`, ... or `ce-id`, ...) and the event's own; `Nats-Msg-Id` is added on publish. */
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Maps a stored event to the message the publisher sends, in `format` (native by default; the
 * CloudEvents modes are core's `ce-` header mapping, docs/cloudevents.md). `trace` is the publish
 * span's context, which replaces the writer's (`traceparent`) when tracing is set up.
 *
 * @example
 * const { data, headers } = toNatsMessage(event);
 */
export function toNatsMessage(
  event: StoredEvent,
  trace: Readonly<Record<string, string>> = {},
  format: NormalizedMessageFormat = NATIVE_MESSAGE_FORMAT,
): NatsMessage {
  const { headers, body } = encodeMessage(event, format, trace);
  return { data: body, headers };
}

/** The headers as the client's MsgHdrs. */
export function toMsgHdrs(headers: Readonly<Record<string, string>>): MsgHdrs {
  const result = natsHeaders();
  for (const [name, value] of Object.entries(headers)) result.set(name, value);
  return result;
}

/** Headers of a received message as a plain map (the first value of each; JetStream's own `Nats-*` ones included). */
export function readHeaders(headers: MsgHdrs | undefined): Record<string, string> {
  const result: Record<string, string> = {};
  if (headers === undefined) return result;
  for (const name of headers.keys()) result[name] = headers.get(name);
  return result;
}

/** The headers of a received message without JetStream's own (`Nats-Msg-Id`, `Nats-Expected-*`). */
export function eventHeaders(headers: MsgHdrs | undefined): Record<string, string> {
  const result = readHeaders(headers);
  for (const name of Object.keys(result)) if (name.toLowerCase().startsWith('nats-')) delete result[name];
  return result;
}
