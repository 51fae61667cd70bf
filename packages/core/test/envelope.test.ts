import { describe, expect, expectTypeOf, it } from 'vitest';
import { createEnvelope, OutboxValidationError, SHARD_COUNT, shardOf, type EventInput } from '@outboxkit/core';

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
  ])('rejects bad input and names the field (%#)', (input, field) => {
    const error = validationError(() => createEnvelope(input as never));
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.code).toBe('OUTBOX_INVALID_EVENT');
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
