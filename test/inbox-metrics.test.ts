import * as promClient from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { InboxEvent } from '@outboxkit/core';
import { createInboxMetrics } from '@outboxkit/rabbitmq';

const event = {
  id: '01a21942-37b2-7472-9670-791e9ea9b6fa',
  type: 'order.placed',
  aggregateType: 'order',
  aggregateId: 'o-1',
  payload: { secret: 'card-4242' },
} as unknown as InboxEvent;

describe('inbox metrics', () => {
  it('counts what the consumer reports, labelled by consumer only', async () => {
    const registry = new promClient.Registry();
    const metrics = createInboxMetrics(promClient, { registry });
    const billing = metrics.observer('billing');
    const shipping = metrics.observer('shipping');
    billing.onProcessed!({ event, attempt: 1, durationMs: 12 });
    billing.onProcessed!({ event, attempt: 1, durationMs: 30 });
    billing.onDuplicate!({ event });
    billing.onFailed!({ event, error: new Error('boom'), attempt: 3, durationMs: 5, willRetry: false });
    billing.onDeadLettered!({ messageId: event.id, reason: 'boom', attempts: 3 });
    shipping.onHeldBack!({ event, holds: 1 });

    const text = await registry.metrics();
    expect(text).toContain('outbox_inbox_processed_total{consumer="billing"} 2');
    expect(text).toContain('outbox_inbox_duplicates_total{consumer="billing"} 1');
    expect(text).toContain('outbox_inbox_failed_total{consumer="billing",final="true"} 1');
    expect(text).toContain('outbox_inbox_dead_lettered_total{consumer="billing"} 1');
    expect(text).toContain('outbox_inbox_held_back_total{consumer="shipping"} 1');
    expect(text).toContain('outbox_inbox_handler_duration_seconds_count{consumer="billing",outcome="processed"} 2');
    expect(text).not.toContain('card-4242');
    expect(text).not.toContain(event.id);
  });
});
