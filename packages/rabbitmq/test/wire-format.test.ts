import { OutboxError } from '@outboxkit/core';
import { describe, expect, it } from 'vitest';
import { OUTBOX_HEADERS, readOutboxHeaders, toAmqpMessage } from '../src/index.js';
import { storedEvent } from './fixtures.js';

const occurredAt = new Date('2024-05-06T07:08:09.123Z');

describe('toAmqpMessage', () => {
  it('maps an event to the documented properties, headers and JSON body', () => {
    const event = storedEvent(
      {
        aggregateType: 'order',
        aggregateId: 42,
        type: 'OrderPlaced',
        payload: { orderId: 'o-42', lines: [{ sku: 'a', qty: 2 }], note: 'grüße' },
        headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', 'x-correlation-id': 'c-1' },
        occurredAt,
      },
      { sequence: 7 },
    );
    const { properties, body } = toAmqpMessage(event);
    expect(properties).toEqual({
      messageId: event.id,
      type: 'OrderPlaced',
      timestamp: 1714979289,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      durable: true,
      mandatory: true,
      appId: 'outboxkit',
      headers: {
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'x-correlation-id': 'c-1',
        'x-outbox-aggregate-type': 'order',
        'x-outbox-aggregate-id': '42',
        'x-outbox-sequence': 7,
        'x-outbox-occurred-at': '2024-05-06T07:08:09.123Z',
        'x-outbox-event-id': event.id,
      },
    });
    expect(Buffer.isBuffer(body)).toBe(true);
    expect(JSON.parse(body.toString('utf8'))).toEqual(event.payload);
  });

  it('sends a null payload as the JSON literal null', () => {
    expect(toAmqpMessage(storedEvent({ payload: null })).body.toString()).toBe('null');
  });
});

describe('readOutboxHeaders', () => {
  it('reads back what toAmqpMessage wrote', () => {
    const event = storedEvent({ aggregateId: 'o-9', occurredAt }, { sequence: 3 });
    const { properties } = toAmqpMessage(event);
    expect(readOutboxHeaders(properties.headers, properties.messageId)).toEqual({
      eventId: event.id,
      aggregateType: 'order',
      aggregateId: 'o-9',
      sequence: 3,
      occurredAt,
    });
    expect(readOutboxHeaders(properties.headers)).not.toHaveProperty('eventId');
  });

  it('accepts a sequence decoded as bigint or sent as a decimal string', () => {
    const headers = { ...toAmqpMessage(storedEvent()).properties.headers };
    expect(readOutboxHeaders({ ...headers, [OUTBOX_HEADERS.sequence]: 12n }).sequence).toBe(12);
    expect(readOutboxHeaders({ ...headers, [OUTBOX_HEADERS.sequence]: '13' }).sequence).toBe(13);
  });

  it.each([
    ['no headers at all', undefined, 'x-outbox-aggregate-type'],
    ['a missing aggregate id', { [OUTBOX_HEADERS.aggregateId]: undefined }, 'x-outbox-aggregate-id'],
    ['a sequence of 0', { [OUTBOX_HEADERS.sequence]: 0 }, 'x-outbox-sequence'],
    ['a fractional sequence', { [OUTBOX_HEADERS.sequence]: 1.5 }, 'x-outbox-sequence'],
    ['an unparseable occurred-at', { [OUTBOX_HEADERS.occurredAt]: 'yesterday' }, 'x-outbox-occurred-at'],
  ])('rejects %s, naming the header', (_, override, header) => {
    const base = toAmqpMessage(storedEvent()).properties.headers;
    const headers = override === undefined ? undefined : { ...base, ...override };
    try {
      readOutboxHeaders(headers);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(OutboxError);
      expect((err as OutboxError).code).toBe('OUTBOX_NOT_AN_OUTBOX_MESSAGE');
      expect((err as Error).message).toContain(header);
    }
  });
});
