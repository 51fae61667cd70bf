import { describe, expect, it } from 'vitest';
import { traceContextFromHeaders, traceHeaders, tracePublish, withTraceHeaders, type StoredEvent } from '@outboxkit/core';
import { propagation, trace, type TextMapPropagator } from '@opentelemetry/api';

// Without an SDK registered (as in every library test) the API is a no-op; the precedence rules
// of withTraceHeaders are checked with an explicit trace argument.
const parent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('trace header helpers', () => {
  it('inject nothing while no propagator is registered', () => {
    expect(traceHeaders()).toEqual({});
    expect(withTraceHeaders({ a: '1' })).toEqual({ a: '1' });
    expect(withTraceHeaders(undefined)).toBeUndefined();
  });

  it('add the trace headers, keeping caller headers and a caller-set traceparent (any case)', () => {
    expect(withTraceHeaders({ a: '1' }, { traceparent: parent, tracestate: 'k=v' })).toEqual({ a: '1', traceparent: parent, tracestate: 'k=v' });
    expect(withTraceHeaders(undefined, { traceparent: parent })).toEqual({ traceparent: parent });
    const own = { Traceparent: '00-11111111111111111111111111111111-2222222222222222-01' };
    expect(withTraceHeaders(own, { traceparent: parent })).toBe(own);
    expect(withTraceHeaders({ baggage: 'mine' }, { traceparent: parent, baggage: 'theirs' })).toEqual({ traceparent: parent, baggage: 'mine' });
  });

  it('reading headers without a propagator yields no span context (and tolerates AMQP value types)', () => {
    const ctx = traceContextFromHeaders({ traceparent: Buffer.from(parent), 'x-outbox-sequence': 3 });
    expect(trace.getSpanContext(ctx)).toBeUndefined();
  });
});

describe('tracePublish', () => {
  const event = { id: 'e-1', headers: { traceparent: parent } } as unknown as StoredEvent;
  const target = { system: 'test', destination: 'events' };

  it('without an SDK hands send no headers and passes its outcome through, value or error', async () => {
    const seen: Record<string, string>[] = [];
    const send = async (headers: Record<string, string>): Promise<number> => {
      seen.push(headers);
      return 7;
    };
    await expect(tracePublish(event, target, send)).resolves.toBe(7);
    expect(seen).toEqual([{}]);
    const failure = new Error('nack');
    await expect(tracePublish(event, target, () => Promise.reject(failure))).rejects.toBe(failure);
    await expect(
      tracePublish(event, target, () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
  });

  it('with only a propagator registered (no tracer provider) still injects what it writes', async () => {
    const fixed: TextMapPropagator = {
      inject: (_ctx, carrier, setter) => setter.set(carrier, 'x-test-trace', 'injected'),
      extract: (ctx) => ctx,
      fields: () => ['x-test-trace'],
    };
    propagation.setGlobalPropagator(fixed);
    try {
      const seen: Record<string, string>[] = [];
      await tracePublish(event, target, async (headers) => void seen.push(headers));
      expect(seen).toEqual([{ 'x-test-trace': 'injected' }]);
    } finally {
      propagation.disable();
    }
    const after: Record<string, string>[] = [];
    await tracePublish(event, target, async (headers) => void after.push(headers));
    expect(after).toEqual([{}]);
  });
});
