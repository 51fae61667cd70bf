import { describe, expect, it } from 'vitest';
import { traceContextFromHeaders, traceHeaders, withTraceHeaders } from '@outboxkit/core';
import { trace } from '@opentelemetry/api';

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
