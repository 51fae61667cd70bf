import type { InboxConsumerStats, InboxEvent, StoredEvent } from '@outboxkit/core';
import { expect } from 'vitest';
import { storedEvent, waitFor } from './rabbit-testbed.js';

/** The `cloudEventsSource` of the CloudEvents tests. */
export const CLOUDEVENTS_TEST_SOURCE = 'urn:example:shop';
/** A W3C trace context the test events carry, to see it become the `traceparent` attribute. */
export const TEST_TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const OCCURRED_AT = new Date('2026-12-01T10:11:12.345Z');

/** An event with a trace header and one other header, for the CloudEvents tests of every broker. */
export function cloudEventTestEvent(aggregateId: string, sequence: number, destination?: string): StoredEvent {
  return storedEvent(
    {
      aggregateType: 'order',
      aggregateId,
      type: 'placed',
      payload: { orderId: aggregateId },
      headers: { traceparent: TEST_TRACEPARENT, 'correlation-id': 'corr-7' },
      occurredAt: OCCURRED_AT,
      ...(destination === undefined ? {} : { destination }),
    },
    sequence,
  );
}

/** The CloudEvents attributes of {@link cloudEventTestEvent} but `datacontenttype`, as canonical strings (as header transports carry them). */
export function expectedCloudEventAttributes(event: StoredEvent): Record<string, string> {
  return {
    specversion: '1.0',
    id: event.id,
    source: CLOUDEVENTS_TEST_SOURCE,
    type: event.type,
    subject: `${event.aggregateType}/${event.aggregateId}`,
    time: '2026-12-01T10:11:12.345Z',
    outboxaggregatetype: event.aggregateType,
    outboxaggregateid: event.aggregateId,
    outboxsequence: String(event.sequence),
    traceparent: TEST_TRACEPARENT,
  };
}

/** The JSON body of a structured-mode message of {@link cloudEventTestEvent} (on every broker). */
export function expectedStructuredCloudEvent(event: StoredEvent): Record<string, unknown> {
  return { ...expectedCloudEventAttributes(event), outboxsequence: event.sequence, datacontenttype: 'application/json', data: event.payload };
}

/** The headers (attributes) a binary-mode message of {@link cloudEventTestEvent} has on NATS, Redis, SQS/SNS and Pub/Sub. */
export function expectedBinaryModeHeaders(event: StoredEvent): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', 'correlation-id': 'corr-7' };
  for (const [name, value] of Object.entries(expectedCloudEventAttributes(event))) headers[`ce-${name}`] = value;
  return headers;
}

/** The inbox event a consumer must hand over for {@link cloudEventTestEvent}, whatever the wire format. */
export function expectedInboxEvent(event: StoredEvent): InboxEvent {
  return {
    id: event.id,
    type: event.type,
    aggregateType: event.aggregateType,
    aggregateId: event.aggregateId,
    sequence: event.sequence,
    occurredAt: OCCURRED_AT,
    payload: event.payload,
    headers: { 'correlation-id': 'corr-7', traceparent: TEST_TRACEPARENT },
  };
}

/**
 * Waits until `consumer` has judged the three deliveries of a CloudEvents round trip (`first`,
 * `first` again, `second`) and checks that it applied each event once, as the native event. Sorted
 * by sequence, for brokers that do not keep order (SQS standard queues).
 */
export async function expectDedupedRoundTrip(
  consumer: { stats(): InboxConsumerStats },
  received: readonly InboxEvent[],
  first: StoredEvent,
  second: StoredEvent,
): Promise<void> {
  await waitFor('three deliveries judged', () => consumer.stats().processed + consumer.stats().duplicates === 3);
  expect(consumer.stats()).toMatchObject({ processed: 2, duplicates: 1, failed: 0, deadLettered: 0 });
  expect([...received].sort((a, b) => a.sequence - b.sequence)).toEqual([expectedInboxEvent(first), expectedInboxEvent(second)]);
}
