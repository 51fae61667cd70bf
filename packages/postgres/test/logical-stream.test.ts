import { describe, expect, it } from 'vitest';
import { eventOf, previousLsn } from '../src/cdc/change-stream.js';

describe('logical stream helpers', () => {
  it('previousLsn is one byte earlier, across the 32-bit boundary: the replication package adds that byte back', () => {
    expect(previousLsn('0/16B3748')).toBe('0/16B3747');
    expect(previousLsn('1/0')).toBe('0/FFFFFFFF');
    expect(previousLsn('A/10')).toBe('A/F');
    expect(previousLsn('0/0')).toBe('0/0');
  });

  it('eventOf reads an inserted row as pg parsed it (jsonb values, bigint text, Date) into a stored event', () => {
    const occurredAt = new Date('2026-12-02T07:00:00.000Z');
    const event = eventOf({
      position: '42',
      id: '01a23590-5ab0-72a4-bf2a-47a4310601d8',
      aggregate_type: 'order',
      aggregate_id: 'o-1',
      sequence: '3',
      shard: 7,
      type: 'OrderPlaced',
      destination: null,
      payload: 'just a JSON string',
      headers: { traceparent: 't' },
      occurred_at: occurredAt,
      expires_at: null,
      attempts: 0,
    });
    expect(event).toEqual({
      id: '01a23590-5ab0-72a4-bf2a-47a4310601d8',
      aggregateType: 'order',
      aggregateId: 'o-1',
      type: 'OrderPlaced',
      payload: 'just a JSON string',
      headers: { traceparent: 't' },
      occurredAt,
      destination: null,
      expiresAt: null,
      shard: 7,
      sequence: 3,
      position: 42,
      attempts: 0,
    });
    expect(Object.isFrozen(event)).toBe(true);
  });

  it('eventOf keeps the expiry pgoutput carries (timestamptz parsed as a Date), so the reader can withhold an expired event', () => {
    const expiresAt = new Date('2026-12-02T07:05:00.000Z');
    const event = eventOf({
      position: '1',
      id: '01a23590-5ab0-72a4-bf2a-47a4310601d9',
      aggregate_type: 'order',
      aggregate_id: 'o-2',
      sequence: '1',
      shard: 1,
      type: 'QuoteIssued',
      destination: null,
      payload: {},
      headers: {},
      occurred_at: new Date('2026-12-02T07:00:00.000Z'),
      expires_at: expiresAt,
      attempts: 0,
    });
    expect(event.expiresAt).toEqual(expiresAt);
  });
});
