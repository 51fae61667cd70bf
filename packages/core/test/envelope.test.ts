import { describe, expect, expectTypeOf, it } from 'vitest';
import { createEnvelope, isExpired, OutboxValidationError, SHARD_COUNT, shardOf, type EventInput } from '@outboxkit/core';

const base = { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { total: 5 } };

function validationError(fn: () => unknown): OutboxValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(OutboxValidationError);
    return error as OutboxValidationError;
  }
  throw new Error('expected an OutboxValidationError');
}

describe('createEnvelope', () => {
  it('fills id (UUIDv7), occurredAt, headers and shard, and freezes the result', () => {
    const envelope = createEnvelope(base);
    expect(envelope.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(envelope.occurredAt).toBeInstanceOf(Date);
    expect(envelope.headers).toEqual({});
    expect(envelope.destination).toBeNull();
    expect(envelope.shard).toBe(shardOf('order', 'o-1'));
    expect(Object.isFrozen(envelope)).toBe(true);
  });

  it('has no expiry unless given; ttlMs counts from occurredAt; expiresAt is copied', () => {
    expect(createEnvelope(base).expiresAt).toBeNull();
    const occurredAt = new Date('2026-12-01T10:00:00.000Z');
    expect(createEnvelope({ ...base, occurredAt, ttlMs: 90_000 }).expiresAt).toEqual(new Date('2026-12-01T10:01:30.000Z'));
    const expiresAt = new Date('2026-12-01T11:00:00.000Z');
    const envelope = createEnvelope({ ...base, occurredAt, expiresAt });
    expiresAt.setTime(0);
    expect(envelope.expiresAt).toEqual(new Date('2026-12-01T11:00:00.000Z'));
    expect(isExpired(envelope, Date.parse('2026-12-01T10:59:59.999Z'))).toBe(false);
    expect(isExpired(envelope, Date.parse('2026-12-01T11:00:00.000Z'))).toBe(true);
    expect(isExpired(createEnvelope(base), Number.MAX_SAFE_INTEGER)).toBe(false);
  });

  it('ids are time-ordered, so ids sort in creation order', () => {
    const ids = Array.from({ length: 50 }, () => createEnvelope(base).id);
    expect([...ids].sort()).toEqual(ids);
  });

  it('detaches the payload from the caller object', () => {
    const payload = { items: [1, 2] };
    const envelope = createEnvelope({ ...base, payload });
    payload.items.push(3);
    expect(envelope.payload).toEqual({ items: [1, 2] });
  });

  it('stores numeric aggregate ids as strings', () => {
    expect(createEnvelope({ ...base, aggregateId: 42 }).aggregateId).toBe('42');
  });

  it.each([
    [{ ...base, aggregateId: undefined }, 'aggregateId'],
    [{ ...base, aggregateId: '' }, 'aggregateId'],
    [{ ...base, aggregateType: 7 }, 'aggregateType'],
    [{ ...base, type: 'x'.repeat(256) }, 'type'],
    [{ ...base, payload: undefined }, 'payload'],
    [{ ...base, payload: { when: () => 1 } }, 'payload.when'],
    [{ ...base, payload: { n: 10n } }, 'payload.n'],
    [{ ...base, payload: { list: [1, Number.NaN] } }, 'payload.list[1]'],
    [{ ...base, payload: new Map() }, 'payload'],
    [{ ...base, headers: { traceparent: 5 } }, 'headers.traceparent'],
    [{ ...base, headers: { 'x-outbox-sequence': '1' } }, 'headers.x-outbox-sequence'],
    [{ ...base, id: 'not-a-uuid' }, 'id'],
    [{ ...base, occurredAt: new Date('nope') }, 'occurredAt'],
    [{ ...base, expiresAt: new Date('nope') }, 'expiresAt'],
    [{ ...base, expiresAt: '2030-01-01T00:00:00Z' }, 'expiresAt'],
    [{ ...base, expiresAt: Date.now() + 60_000 }, 'expiresAt'],
    [{ ...base, occurredAt: new Date('2026-12-01T10:00:00Z'), expiresAt: new Date('2026-12-01T10:00:00Z') }, 'expiresAt'],
    [{ ...base, expiresAt: new Date(Date.now() + 60_000), ttlMs: 1000 }, 'expiresAt'],
    [{ ...base, ttlMs: -1 }, 'ttlMs'],
    [{ ...base, ttlMs: 0 }, 'ttlMs'],
    [{ ...base, ttlMs: Number.POSITIVE_INFINITY }, 'ttlMs'],
    [{ ...base, ttlMs: '60000' }, 'ttlMs'],
  ])('rejects bad input and names the field (%#)', (input, field) => {
    const error = validationError(() => createEnvelope(input as never));
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.code).toBe('OUTBOX_INVALID_EVENT');
  });

  it.each([
    [
      { ...base, payload: { items: [{ name: 'a' }, { name: 'b' }, { name: 'bad \uD800 half' }] } },
      'payload.items[2].name',
      /lone UTF-16 surrogate \(\\uD800 at index 4\)/,
    ],
    [{ ...base, payload: { tail: 'ends in a low half \uDC00' } }, 'payload.tail', /lone UTF-16 surrogate \(\\uDC00/],
    [{ ...base, payload: { 'key\uDBFF': 1 } }, 'payload.key\uDBFF (its key)', /lone UTF-16 surrogate/],
    [{ ...base, payload: ['nul \u0000 inside'] }, 'payload[0]', /NUL character \(\\u0000 at index 4\).*PostgreSQL/],
    [{ ...base, payload: { 'k\u0000': 'v' } }, 'payload.k\u0000 (its key)', /NUL character/],
    [{ ...base, headers: { note: 'x\u0000' } }, 'headers.note', /NUL character/],
    [{ ...base, headers: { note: '\uD83D' } }, 'headers.note', /lone UTF-16 surrogate/],
    [{ ...base, aggregateId: 'o-\u0000' }, 'aggregateId', /NUL character/],
  ])('refuses text a database would refuse or change, naming the path (%#)', (input, field, message) => {
    const error = validationError(() => createEnvelope(input as never));
    expect(error.field).toBe(field);
    expect(error.message).toMatch(message);
  });

  it('accepts well-formed text, surrogate pairs included', () => {
    expect(createEnvelope({ ...base, payload: { emoji: 'ok \uD83D\uDE00', cjk: '漢字' }, headers: { note: '\uD83D\uDE00' } }).payload).toEqual({
      emoji: 'ok 😀',
      cjk: '漢字',
    });
  });

  it('stores a Date in the payload as its ISO string (the one class instance accepted); other class instances are refused', () => {
    const at = new Date('2026-01-02T03:04:05.678Z');
    expect(createEnvelope({ ...base, payload: { at } }).payload).toEqual({ at: '2026-01-02T03:04:05.678Z' });
    class Money {
      constructor(readonly cents: number) {}
    }
    expect(validationError(() => createEnvelope({ ...base, payload: { price: new Money(5) } as never })).message).toMatch(/payload\.price.*Money/);
  });

  it('rejects circular payloads', () => {
    const payload: Record<string, unknown> = {};
    payload.self = payload;
    expect(validationError(() => createEnvelope({ ...base, payload })).field).toBe('payload.self');
  });

  it('types: an event map checks type and payload at compile time', () => {
    type Events = { OrderPlaced: { total: number }; OrderCancelled: { reason: string } };
    expectTypeOf<EventInput<Events>>().toMatchTypeOf<{ type: 'OrderPlaced' | 'OrderCancelled' }>();
    const ok: EventInput<Events> = { aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { total: 1 } };
    expect(ok.type).toBe('OrderPlaced');
    // @ts-expect-error wrong payload for the type
    const bad: EventInput<Events> = { aggregateType: 'order', aggregateId: 1, type: 'OrderCancelled', payload: { total: 1 } };
    expect(bad).toBeDefined();
  });
});

describe('shards', () => {
  it('spreads aggregates over all shards', () => {
    const seen = new Set(Array.from({ length: 5000 }, (_, i) => shardOf('order', `o-${i}`)));
    expect(seen.size).toBe(SHARD_COUNT);
  });
});
