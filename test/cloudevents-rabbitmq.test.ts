import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxEvent, MessageFormat } from '@outboxkit/core';
import { createInboxConsumer, createRabbitPublisher, type InboxConsumer, type RabbitPublisher } from '@outboxkit/rabbitmq';
import { serviceUrl, uniqueName } from '@outboxkit/testkit';
import { openInboxDb, type InboxTestDb } from './fixtures/inbox-db.mjs';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { RabbitTestBed, storedEvent, waitFor } from './support/inbox-helpers.js';

const SOURCE = 'urn:example:shop';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

/**
 * CloudEvents through the real RabbitMQ: the relay's publisher in each CloudEvents mode, the
 * message as it sits in the queue, and the inbox consumer that must see the same event it sees
 * in the native format, once.
 */
describe('CloudEvents on RabbitMQ', () => {
  let database: TestDatabase;
  let inbox: InboxTestDb;
  let rabbit: RabbitTestBed;
  let amqpUrl: string;
  const closers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    amqpUrl = await serviceUrl('rabbitmq');
    database = await createTestDatabase('SQLite');
    inbox = await openInboxDb('SQLite', database.url, database.schema);
    rabbit = new RabbitTestBed(amqpUrl);
  });

  afterAll(async () => {
    for (const closer of closers.reverse()) await closer.close();
    await rabbit?.close();
    await inbox?.close();
    await database?.dispose();
  });

  /** A publisher in `format` to the default exchange, so an event's destination `/<queue>` routes it straight to a queue. */
  function publisherIn(format: MessageFormat): RabbitPublisher {
    const source = format === 'native' ? {} : { cloudEventsSource: SOURCE };
    const publisher = createRabbitPublisher({ connection: amqpUrl, format, ...source, declareExchange: false });
    closers.push(publisher);
    return publisher;
  }

  /** A bare rabbitmq-client publisher, for messages another producer would send. */
  function rawPublisher() {
    const publisher = rabbit.connection.createPublisher({ confirm: true });
    closers.push(publisher);
    return publisher;
  }

  async function consume(queue: string, received: InboxEvent[]): Promise<InboxConsumer> {
    const consumer = createInboxConsumer({
      connection: amqpUrl,
      queue,
      consumer: `c_${queue}`,
      db: inbox.db,
      dialect: inbox.dialect,
      handler: async (event, tx) => {
        received.push(event);
        await inbox.insertEffect(tx, event.id, 'cloudevents');
      },
      retryDelayMs: 10,
    });
    closers.push(consumer);
    await consumer.ready();
    return consumer;
  }

  function eventFor(queue: string, aggregateId: string, sequence: number) {
    return storedEvent(
      {
        aggregateType: 'order',
        aggregateId,
        type: 'order.placed',
        payload: { orderId: aggregateId, total: 99 },
        headers: { traceparent: TRACEPARENT, 'correlation-id': 'corr-7' },
        destination: `/${queue}`,
        occurredAt: new Date('2026-12-01T10:11:12.345Z'),
      },
      sequence,
    );
  }

  it('binary mode puts the attributes in cloudEvents: application properties and the payload in the body', async () => {
    const queue = await rabbit.declare(uniqueName('okt_ce_bin'));
    const event = eventFor(queue, 'o-bin', 3);
    await publisherIn('cloudevents-binary').publish(event);

    const message = await rabbit.get(queue);
    expect(message?.contentType).toBe('application/json');
    expect(message?.messageId).toBe(event.id);
    expect(message?.headers).toEqual({
      'cloudEvents:specversion': '1.0',
      'cloudEvents:id': event.id,
      'cloudEvents:source': SOURCE,
      'cloudEvents:type': 'order.placed',
      'cloudEvents:subject': 'order/o-bin',
      'cloudEvents:time': '2026-12-01T10:11:12.345Z',
      'cloudEvents:outboxaggregatetype': 'order',
      'cloudEvents:outboxaggregateid': 'o-bin',
      'cloudEvents:outboxsequence': 3,
      'cloudEvents:traceparent': TRACEPARENT,
      'correlation-id': 'corr-7',
    });
    expect(JSON.parse(String(message?.body))).toEqual({ orderId: 'o-bin', total: 99 });
  });

  it('structured mode sends the whole CloudEvent as an application/cloudevents+json body', async () => {
    const queue = await rabbit.declare(uniqueName('okt_ce_str'));
    const event = eventFor(queue, 'o-str', 2);
    await publisherIn('cloudevents-structured').publish(event);

    const message = await rabbit.get(queue);
    expect(message?.contentType).toBe('application/cloudevents+json');
    expect(message?.headers).toEqual({ 'correlation-id': 'corr-7' });
    expect(JSON.parse(String(message?.body))).toEqual({
      specversion: '1.0',
      id: event.id,
      source: SOURCE,
      type: 'order.placed',
      subject: 'order/o-str',
      time: '2026-12-01T10:11:12.345Z',
      datacontenttype: 'application/json',
      outboxaggregatetype: 'order',
      outboxaggregateid: 'o-str',
      outboxsequence: 2,
      traceparent: TRACEPARENT,
      data: { orderId: 'o-str', total: 99 },
    });
  });

  it.each(['cloudevents-binary', 'cloudevents-structured'] as const)(
    '%s: publisher -> RabbitMQ -> inbox consumer hands over the native event shape and dedupes a re-published CloudEvent by its id',
    async (format) => {
      const queue = await rabbit.declare(uniqueName('okt_ce_rt'));
      const first = eventFor(queue, `o-${format}`, 1);
      const second = eventFor(queue, `o-${format}`, 2);
      const publisher = publisherIn(format);
      // The relay re-publishes the first event (as after a crash before marking it published).
      for (const event of [first, first, second]) await publisher.publish(event);

      const received: InboxEvent[] = [];
      const consumer = await consume(queue, received);
      await waitFor('3 deliveries', () => consumer.stats().processed + consumer.stats().duplicates === 3);

      expect(consumer.stats()).toMatchObject({ processed: 2, duplicates: 1, failed: 0, deadLettered: 0 });
      expect(received).toEqual([
        {
          id: first.id,
          type: 'order.placed',
          aggregateType: 'order',
          aggregateId: `o-${format}`,
          sequence: 1,
          occurredAt: new Date('2026-12-01T10:11:12.345Z'),
          payload: { orderId: `o-${format}`, total: 99 },
          headers: { 'correlation-id': 'corr-7', traceparent: TRACEPARENT },
        },
        expect.objectContaining({ id: second.id, sequence: 2 }),
      ]);
      expect(await inbox.effectCount(first.id)).toBe(1);
      expect(await rabbit.messageCount(queue)).toBe(0);
    },
  );

  it('one consumer takes native, binary, structured and cloudEvents_-prefixed messages of one aggregate, in order', async () => {
    const queue = await rabbit.declare(uniqueName('okt_ce_mix'));
    const events = [1, 2, 3, 4].map((sequence) => eventFor(queue, 'o-mixed', sequence));
    await publisherIn('native').publish(events[0]!);
    await publisherIn('cloudevents-binary').publish(events[1]!);
    await publisherIn('cloudevents-structured').publish(events[2]!);
    // Another producer's binary mode with the JMS-compatible prefix of earlier binding drafts.
    const underscored = events[3]!;
    await rawPublisher().send(
      {
        routingKey: queue,
        contentType: 'application/json',
        headers: {
          cloudEvents_specversion: '1.0',
          cloudEvents_id: underscored.id,
          cloudEvents_source: 'urn:example:other',
          cloudEvents_type: 'order.placed',
          cloudEvents_time: underscored.occurredAt.toISOString(),
          cloudEvents_outboxaggregatetype: 'order',
          cloudEvents_outboxaggregateid: 'o-mixed',
          cloudEvents_outboxsequence: '4',
        },
      },
      Buffer.from(JSON.stringify({ orderId: 'o-mixed', total: 99 })),
    );

    const received: InboxEvent[] = [];
    const consumer = await consume(queue, received);
    await waitFor('4 events', () => consumer.stats().processed === 4);

    expect(received.map((event) => [event.id, event.sequence, event.aggregateId, event.type])).toEqual(
      events.map((event) => [event.id, event.sequence, 'o-mixed', 'order.placed']),
    );
    expect(received.map((event) => event.payload)).toEqual(events.map(() => ({ orderId: 'o-mixed', total: 99 })));
  });

  it('dead-letters a CloudEvent whose message-id disagrees with its id, naming both', async () => {
    const queue = await rabbit.declare(uniqueName('okt_ce_bad'));
    const event = eventFor(queue, 'o-bad', 1);
    await rawPublisher().send(
      { routingKey: queue, contentType: 'application/cloudevents+json', messageId: 'another-id', contentEncoding: 'utf-8' },
      Buffer.from(
        JSON.stringify({
          specversion: '1.0',
          id: event.id,
          source: SOURCE,
          type: 'order.placed',
          time: event.occurredAt.toISOString(),
          outboxaggregatetype: 'order',
          outboxaggregateid: 'o-bad',
          outboxsequence: 1,
          data: {},
        }),
      ),
    );
    const consumer = await consume(queue, []);
    await waitFor('the dead letter', () => consumer.stats().deadLettered === 1);

    const dead = await rabbit.get(`${queue}.dead`);
    expect(String(dead?.headers?.['x-outbox-error'])).toContain(`message-id another-id and the CloudEvent id ${event.id} disagree`);
  });
});
