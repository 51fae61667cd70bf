import { describe, expect, it } from 'vitest';
import {
  cloudEventAttributes,
  CLOUDEVENTS_EXTENSIONS,
  createEnvelope,
  decodeMessage,
  encodeMessage,
  isCloudEventsAttributeName,
  isUriReference,
  MESSAGE_FORMATS,
  normalizeMessageFormat,
  UndecodableMessage,
  type StoredEvent,
} from '@outboxkit/core';

const SOURCE = 'urn:example:shop';

function stored(sequence = 7): StoredEvent {
  const envelope = createEnvelope({
    aggregateType: 'order',
    aggregateId: 'o-1',
    type: 'placed',
    payload: { total: 5 },
    headers: { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'k=v', 'correlation-id': 'c-1' },
  });
  return { ...envelope, sequence, position: 1, attempts: 0 };
}

const binary = normalizeMessageFormat({ format: 'cloudevents-binary', cloudEventsSource: SOURCE });
const structured = normalizeMessageFormat({ format: 'cloudevents-structured', cloudEventsSource: SOURCE });

/** The reason of an undecodable message, or a failure when it decoded. */
function reasonOf(result: ReturnType<typeof decodeMessage>): string {
  expect(result).toBeInstanceOf(UndecodableMessage);
  return (result as UndecodableMessage).reason;
}

describe('CloudEvents mapping', () => {
  it('names every attribute the way the spec allows (lowercase a-z0-9, at most 20 characters)', () => {
    const names = Object.keys(cloudEventAttributes(stored(), SOURCE));
    expect(names).toEqual(expect.arrayContaining([...Object.values(CLOUDEVENTS_EXTENSIONS), 'traceparent', 'tracestate']));
    for (const name of names) expect(isCloudEventsAttributeName(name), name).toBe(true);
    expect(isCloudEventsAttributeName('aggregate_type')).toBe(false);
    expect(isCloudEventsAttributeName('a'.repeat(21))).toBe(false);
  });

  it.each([
    ['urn:example:shop', true],
    ['/services/shop', true],
    ['https://shop.example.com/orders?v=1#x', true],
    ['shop', true],
    ['', false],
    ['shop events', false],
    ['/a%zz', false],
    ['a#b#c', false],
  ])('isUriReference(%j) is %s', (value, expected) => {
    expect(isUriReference(value)).toBe(expected);
  });

  it.each(MESSAGE_FORMATS)('%s: decodes to the same event the native format decodes to', (format) => {
    const event = stored();
    const native = decodeMessage(encodeMessage(event, normalizeMessageFormat({})));
    const normalized = normalizeMessageFormat(format === 'native' ? {} : { format, cloudEventsSource: SOURCE });
    expect(decodeMessage(encodeMessage(event, normalized))).toEqual(native);
    expect(native).toMatchObject({ id: event.id, sequence: 7, headers: { 'correlation-id': 'c-1', tracestate: 'k=v' } });
  });

  it('reads a native message as native even when the event carries a ce-specversion header of its own', () => {
    const envelope = createEnvelope({ aggregateType: 'order', aggregateId: 'o-2', type: 'placed', payload: null, headers: { 'ce-specversion': '1.0' } });
    const event = { ...envelope, sequence: 1, position: 1, attempts: 0 };
    expect(decodeMessage(encodeMessage(event, normalizeMessageFormat({})))).toMatchObject({ id: event.id, headers: { 'ce-specversion': '1.0' } });
  });

  it('puts the publish span in traceparent, replacing the writer', () => {
    const { headers } = encodeMessage(stored(), binary, { traceparent: '00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01' });
    expect(headers['ce-traceparent']).toBe('00-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-bbbbbbbbbbbbbbbb-01');
    expect(headers.traceparent).toBeUndefined();
  });

  it('reads header names in any case', () => {
    const event = stored();
    const { headers, body } = encodeMessage(event, binary);
    const shouted = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [name.replace(/^ce-/, 'CE-').replace('content-type', 'Content-Type'), value]),
    );
    expect(Object.keys(shouted)).toContain('CE-id');
    expect(decodeMessage({ headers: shouted, body })).toMatchObject({ id: event.id, sequence: 7, aggregateId: 'o-1' });
  });

  it.each([
    ['a missing extension', (h: Record<string, string>) => delete h['ce-outboxsequence'], /outboxsequence must be a positive integer/],
    ['another producer (no outbox extensions)', (h: Record<string, string>) => delete h['ce-outboxaggregateid'], /attribute outboxaggregateid is missing/],
    ['specversion 0.3', (h: Record<string, string>) => (h['ce-specversion'] = '0.3'), /specversion "0.3" is not supported/],
    ['XML data', (h: Record<string, string>) => (h['content-type'] = 'application/xml'), /datacontenttype "application\/xml" is not JSON/],
    ['a bad time', (h: Record<string, string>) => (h['ce-time'] = 'yesterday'), /time is not an RFC 3339 timestamp/],
  ])('dead-letters a binary CloudEvent with %s, naming the attribute', (_case, spoil, reason) => {
    const { headers, body } = encodeMessage(stored(), binary);
    spoil(headers);
    expect(reasonOf(decodeMessage({ headers, body }))).toMatch(reason);
  });

  it('dead-letters a structured CloudEvent with data_base64, and one whose broker id disagrees', () => {
    const { headers, body } = encodeMessage(stored(), structured);
    const { data: _data, ...rest } = JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    expect(reasonOf(decodeMessage({ headers, body: JSON.stringify({ ...rest, data_base64: 'e30=' }) }))).toMatch(/no data member/);
    expect(reasonOf(decodeMessage({ headers, body, nativeId: 'other' }))).toMatch(/broker's message id other and the CloudEvent id .* disagree/);
  });
});
