import { RESERVED_HEADER_PREFIX, type JsonValue, type StoredEvent } from './envelope.js';
import { OutboxConfigError } from './errors.js';
import { MAX_INBOX_KEY_LENGTH } from './inbox-dialect.js';
import type { InboxEvent } from './inbox.js';
import { parseJsonMessage, UndecodableMessage } from './undecodable.js';

/**
 * How a publisher puts an event on the wire: outboxkit's own headers (`native`), or a
 * CloudEvents 1.0 event in the protocol binding's binary mode (attributes as transport
 * headers, the payload as the body) or structured mode (the whole event as a JSON body).
 * docs/cloudevents.md has the mapping.
 */
export type MessageFormat = 'native' | 'cloudevents-binary' | 'cloudevents-structured';

export const MESSAGE_FORMATS: readonly MessageFormat[] = Object.freeze(['native', 'cloudevents-binary', 'cloudevents-structured']);

/** The media type of the CloudEvents JSON event format: the content type of a structured-mode message. */
export const CLOUDEVENTS_JSON_CONTENT_TYPE = 'application/cloudevents+json';

/**
 * The extension attributes outboxkit adds to each CloudEvent. Prefixed with `outbox` because
 * the spec's own `sequence` extension orders events per source (and compares strings), while
 * outboxkit's sequence counts per aggregate.
 */
export const CLOUDEVENTS_EXTENSIONS = Object.freeze({
  aggregateType: 'outboxaggregatetype',
  aggregateId: 'outboxaggregateid',
  /** An Integer: 1, 2, 3... per aggregate. */
  sequence: 'outboxsequence',
});

/** The distributed tracing extension's attributes, carried from and to the event's headers. */
const TRACE_ATTRIBUTES: readonly string[] = ['traceparent', 'tracestate'];

const SPEC_VERSION = '1.0';
const DATA_CONTENT_TYPE = 'application/json';

/** The options every publisher takes to choose its wire format. */
export interface MessageFormatOptions {
  /**
   * The wire format; `native` sends outboxkit's `x-outbox-*` headers as before.
   * @default 'native'
   * @example 'cloudevents-binary'
   */
  format?: MessageFormat;
  /**
   * The CloudEvents `source` attribute (a URI-reference naming the producer). Required when
   * `format` is a CloudEvents one.
   * @example 'urn:example:billing' or '/services/billing'
   */
  cloudEventsSource?: string;
}

/** The option names of {@link MessageFormatOptions}, for the publishers that refuse unknown options. */
export const MESSAGE_FORMAT_OPTION_NAMES: readonly (keyof MessageFormatOptions)[] = Object.freeze(['format', 'cloudEventsSource']);

/** The wire format after validation; `cloudEventsSource` is set exactly when the format is a CloudEvents one. */
export type NormalizedMessageFormat =
  | { readonly format: 'native'; readonly cloudEventsSource: null }
  | { readonly format: 'cloudevents-binary' | 'cloudevents-structured'; readonly cloudEventsSource: string };

/** The default wire format: outboxkit's own headers. */
export const NATIVE_MESSAGE_FORMAT: NormalizedMessageFormat = Object.freeze({ format: 'native', cloudEventsSource: null });

/**
 * Validates `format` and `cloudEventsSource`. Throws {@link OutboxConfigError} naming the option.
 *
 * @example
 * normalizeMessageFormat({ format: 'cloudevents-structured', cloudEventsSource: 'urn:example:shop' });
 */
export function normalizeMessageFormat(options: MessageFormatOptions): NormalizedMessageFormat {
  const format = options.format ?? 'native';
  if (!MESSAGE_FORMATS.includes(format)) {
    throw new OutboxConfigError('format', `${JSON.stringify(format) ?? typeof format} is not a message format; use one of ${MESSAGE_FORMATS.join(', ')}`);
  }
  const source = options.cloudEventsSource;
  if (format === 'native') {
    if (source !== undefined) {
      throw new OutboxConfigError(
        'cloudEventsSource',
        'is only used with cloudevents-binary or cloudevents-structured; choose one of them as the format, or leave the source out',
      );
    }
    return NATIVE_MESSAGE_FORMAT;
  }
  if (source === undefined) {
    throw new OutboxConfigError(
      'cloudEventsSource',
      `is required with ${format}: the CloudEvents source naming this producer, e.g. "urn:example:shop" or "/services/shop"`,
    );
  }
  if (typeof source !== 'string' || !isUriReference(source)) {
    throw new OutboxConfigError(
      'cloudEventsSource',
      `${JSON.stringify(source) ?? typeof source} is not a URI-reference (RFC 3986: no spaces, "%" only as %XX escapes, at most one "#"); e.g. "urn:example:shop" or "/services/shop"`,
    );
  }
  return Object.freeze({ format, cloudEventsSource: source });
}

const URI_REFERENCE =
  /^(?:[A-Za-z][A-Za-z0-9+.-]*:)?(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?[\]]|%[0-9A-Fa-f]{2})*(?:#(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2})*)?$/;

/** A non-empty RFC 3986 URI-reference (the CloudEvents `source` type). */
export function isUriReference(value: string): boolean {
  return value !== '' && URI_REFERENCE.test(value);
}

/** A name the CloudEvents spec allows for an attribute: lowercase a-z and 0-9, at most 20 characters. */
export function isCloudEventsAttributeName(name: string): boolean {
  return /^[a-z0-9]{1,20}$/.test(name);
}

/** A context attribute value: a string, or the Integer `outboxsequence`. */
export type CloudEventAttributeValue = string | number;

/**
 * The context attributes of `event` as a CloudEvent (everything but `data`). `trace`, the publish
 * span's context, replaces the writer's trace headers when given.
 *
 * @example
 * cloudEventAttributes(event, 'urn:example:shop'); // { specversion: '1.0', id: '0190…', source: 'urn:example:shop', ... }
 */
export function cloudEventAttributes(
  event: StoredEvent,
  source: string,
  trace: Readonly<Record<string, string>> = {},
): Record<string, CloudEventAttributeValue> {
  const attributes: Record<string, CloudEventAttributeValue> = {
    specversion: SPEC_VERSION,
    id: event.id,
    source,
    type: event.type,
    subject: `${event.aggregateType}/${event.aggregateId}`,
    time: event.occurredAt.toISOString(),
    datacontenttype: DATA_CONTENT_TYPE,
    [CLOUDEVENTS_EXTENSIONS.aggregateType]: event.aggregateType,
    [CLOUDEVENTS_EXTENSIONS.aggregateId]: event.aggregateId,
    [CLOUDEVENTS_EXTENSIONS.sequence]: event.sequence,
  };
  const traceContext = { ...pick(event.headers, TRACE_ATTRIBUTES), ...pick(trace, TRACE_ATTRIBUTES) };
  return { ...attributes, ...traceContext };
}

/** The event's headers that are not CloudEvents attributes (all but the trace context): sent as plain transport headers. */
export function headersBesideCloudEvent(event: StoredEvent): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers)) if (!TRACE_ATTRIBUTES.includes(name.toLowerCase())) result[name] = value;
  return result;
}

/**
 * The structured-mode body: the CloudEvent in the JSON event format, the payload as `data`.
 *
 * @example
 * const body = structuredCloudEvent(event, 'urn:example:shop'); // content type application/cloudevents+json
 */
export function structuredCloudEvent(event: StoredEvent, source: string, trace: Readonly<Record<string, string>> = {}): Buffer {
  return Buffer.from(JSON.stringify({ ...cloudEventAttributes(event, source, trace), data: event.payload }), 'utf8');
}

/**
 * The attributes of a binary-mode message: each header named `<prefix><attribute>` (prefix
 * compared case-insensitively, as HTTP-style bindings do), the prefix removed.
 */
export function binaryModeAttributes(headers: Readonly<Record<string, unknown>>, prefixes: readonly string[]): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    const prefix = prefixes.find((candidate) => lower.startsWith(candidate.toLowerCase()));
    if (prefix !== undefined) result[lower.slice(prefix.length)] = value;
  }
  return result;
}

/** True for `application/cloudevents+json` (parameters such as `; charset=utf-8` allowed). */
export function isStructuredCloudEventContentType(contentType: string | undefined): boolean {
  return contentType?.trim().toLowerCase().startsWith(CLOUDEVENTS_JSON_CONTENT_TYPE) === true;
}

/**
 * Parses a structured-mode body into its attributes and `data`, or says why it cannot be a
 * CloudEvent. The data is the JSON value of `data` (`data_base64` is not produced by outboxkit and
 * is refused).
 */
export function parseStructuredCloudEvent(body: string | Uint8Array): { attributes: Record<string, unknown>; data: JsonValue } | UndecodableMessage {
  const parsed = parseJsonMessage(body, 'the structured CloudEvent');
  if (parsed instanceof UndecodableMessage) return parsed;
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    return new UndecodableMessage('the structured CloudEvent is not a JSON object');
  }
  const { data, ...attributes } = parsed as Record<string, JsonValue>;
  if (data === undefined) return new UndecodableMessage('the structured CloudEvent has no data member (data_base64 is not supported)');
  return { attributes, data };
}

/**
 * The inbox event of a CloudEvent outboxkit published: the id is the CloudEvent `id` (the event
 * id the inbox dedupes on), the aggregate and sequence come from the `outbox*` extensions, and
 * `traceparent`/`tracestate` join `headers`. Returns {@link UndecodableMessage} naming the
 * attribute that is missing or malformed.
 */
export function inboxEventOfCloudEvent(
  attributes: Readonly<Record<string, unknown>>,
  data: JsonValue,
  headers: Readonly<Record<string, string>>,
): InboxEvent | UndecodableMessage {
  if (attributes.specversion !== SPEC_VERSION) {
    return new UndecodableMessage(`CloudEvents specversion ${JSON.stringify(attributes.specversion)} is not supported; expected "${SPEC_VERSION}"`);
  }
  const missing = ['id', 'source', 'type', 'time', CLOUDEVENTS_EXTENSIONS.aggregateType, CLOUDEVENTS_EXTENSIONS.aggregateId].find(
    (name) => typeof attributes[name] !== 'string' || attributes[name] === '',
  );
  if (missing !== undefined) return new UndecodableMessage(`CloudEvents attribute ${missing} is missing or not a string`);
  const contentType = attributes.datacontenttype;
  if (contentType !== undefined && (typeof contentType !== 'string' || !/^application\/([\w.-]+\+)?json\s*(;|$)/i.test(contentType))) {
    return new UndecodableMessage(`CloudEvents datacontenttype ${JSON.stringify(contentType)} is not JSON; the inbox consumer takes JSON data only`);
  }
  const id = attributes.id as string;
  if (id.length > MAX_INBOX_KEY_LENGTH) return new UndecodableMessage(`the event id is longer than ${MAX_INBOX_KEY_LENGTH} characters`);
  const sequence = integerAttribute(attributes[CLOUDEVENTS_EXTENSIONS.sequence]);
  if (sequence === undefined) return new UndecodableMessage(`CloudEvents attribute ${CLOUDEVENTS_EXTENSIONS.sequence} must be a positive integer`);
  const occurredAt = new Date(attributes.time as string);
  if (Number.isNaN(occurredAt.getTime())) return new UndecodableMessage('CloudEvents attribute time is not an RFC 3339 timestamp');
  const traceContext: Record<string, string> = {};
  for (const name of TRACE_ATTRIBUTES) if (typeof attributes[name] === 'string') traceContext[name] = attributes[name] as string;
  return Object.freeze({
    id,
    type: attributes.type as string,
    aggregateType: attributes[CLOUDEVENTS_EXTENSIONS.aggregateType] as string,
    aggregateId: attributes[CLOUDEVENTS_EXTENSIONS.aggregateId] as string,
    sequence,
    occurredAt,
    payload: data,
    headers: Object.freeze({ ...withoutReserved(headers), ...traceContext }),
  });
}

/** CloudEvents Integers arrive as numbers (JSON, AMQP long, maybe a bigint) or as their canonical string (headers). */
function integerAttribute(value: unknown): number | undefined {
  const number = typeof value === 'bigint' ? Number(value) : typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number >= 1 ? number : undefined;
}

function withoutReserved(headers: Readonly<Record<string, string>>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (!name.toLowerCase().startsWith(RESERVED_HEADER_PREFIX)) result[name] = value;
  return result;
}

function pick(headers: Readonly<Record<string, string>>, names: readonly string[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) if (names.includes(name.toLowerCase())) result[name.toLowerCase()] = value;
  return result;
}
