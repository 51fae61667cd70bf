import { PublishError, type StoredEvent } from '@outboxkit/core';
import type { Connection } from 'rabbitmq-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName } from '../../testkit/dist/services.js';
import { createRabbitPublisher, readOutboxHeaders, toAmqpMessage, type RabbitPublisher } from '../src/index.js';
import { boundQueue, drain, openTestConnection, storedEvent } from './fixtures.js';

// One exchange and a set of queues per test file, all deleted in afterAll.
const exchange = uniqueName('okt_rmq_pub');
const extraExchanges: string[] = [];
const queues: string[] = [];
let connection: Connection;
let publisher: RabbitPublisher;

async function queueFor(routingKey: string, onExchange = exchange): Promise<string> {
  const queue = await boundQueue(connection, onExchange, routingKey);
  queues.push(queue);
  return queue;
}

async function publishError(promise: Promise<void>): Promise<PublishError> {
  const err = await promise.then(
    () => null,
    (failure: unknown) => failure,
  );
  expect(err).toBeInstanceOf(PublishError);
  return err as PublishError;
}

beforeAll(async () => {
  connection = await openTestConnection();
  publisher = createRabbitPublisher({ connection, exchange, confirmTimeoutMs: 20_000 });
  // The publisher declares its exchange lazily, with the first publish; bindings need it now.
  await connection.exchangeDeclare({ exchange, type: 'topic', durable: true });
});

afterAll(async () => {
  await publisher?.close();
  for (const queue of queues) await connection.queueDelete({ queue });
  for (const name of [exchange, ...extraExchanges]) await connection.exchangeDelete({ exchange: name });
  await connection.close();
});

describe('RabbitPublisher against RabbitMQ', () => {
  it('delivers the documented properties, headers and body to a bound queue', async () => {
    const queue = await queueFor('OrderPlaced');
    const occurredAt = new Date('2024-05-06T07:08:09.123Z');
    const event = storedEvent(
      {
        aggregateId: 'o-77',
        payload: { orderId: 'o-77', total: 12.5, lines: [{ sku: 'a', qty: 2 }], note: 'grüße' },
        headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01', tracestate: 'vendor=1' },
        occurredAt,
      },
      { sequence: 3, position: 99 },
    );

    await publisher.publish(event);

    const [message, ...rest] = await drain(connection, queue);
    expect(rest).toHaveLength(0);
    expect(message).toBeDefined();
    expect(message).toMatchObject({
      exchange,
      routingKey: 'OrderPlaced',
      messageId: event.id,
      type: 'OrderPlaced',
      timestamp: Math.floor(occurredAt.getTime() / 1000),
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      appId: 'outboxkit',
    });
    expect(message!.headers).toEqual({
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'vendor=1',
      'x-outbox-aggregate-type': 'order',
      'x-outbox-aggregate-id': 'o-77',
      'x-outbox-sequence': 3,
      'x-outbox-occurred-at': '2024-05-06T07:08:09.123Z',
      'x-outbox-event-id': event.id,
    });
    expect(JSON.parse((message!.body as Buffer).toString('utf8'))).toEqual(event.payload);
    expect(readOutboxHeaders(message!.headers, message!.messageId)).toEqual({
      eventId: event.id,
      aggregateType: 'order',
      aggregateId: 'o-77',
      sequence: 3,
      occurredAt,
    });
    // The same mapping replay uses.
    expect(message!.headers).toEqual(toAmqpMessage(event).properties.headers);
  });

  it('sends the publishes started in one tick in a few socket writes, not one per message, all delivered in order', async () => {
    const queue = await queueFor('burst.coalesced');
    const events = Array.from({ length: 30 }, (_, i) => storedEvent({ type: 'burst.coalesced', aggregateId: `b-${i}` }));
    // The socket rabbitmq-client writes to; its stream methods run once per flushed write.
    const socket = (connection as unknown as { _socket: { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void } })._socket;
    const { _write: write, _writev: writev } = socket;
    let writes = 0;
    socket._write = (...args) => {
      writes++;
      write.apply(socket, args);
    };
    socket._writev = (...args) => {
      writes++;
      writev.apply(socket, args);
    };
    try {
      await Promise.all(events.map((event) => publisher.publish(event)));
    } finally {
      socket._write = write;
      socket._writev = writev;
    }
    // One write per message without coalescing; 30 messages fit one socket buffer (16 KiB).
    expect(writes).toBeLessThanOrEqual(3);
    expect((await drain(connection, queue)).map((m) => m.messageId)).toEqual(events.map((event) => event.id));
  });

  it('routes "/queue" through the default exchange straight to that queue', async () => {
    const queue = uniqueName('okt_rmq_direct');
    await connection.queueDeclare({ queue, durable: false });
    queues.push(queue);
    const event = storedEvent({ destination: `/${queue}` });

    await publisher.publish(event);

    const messages = await drain(connection, queue);
    expect(messages.map((m) => [m.exchange, m.routingKey, m.messageId])).toEqual([['', queue, event.id]]);
  });

  it('routes "exchange/key" to another existing exchange', async () => {
    const other = uniqueName('okt_rmq_other');
    await connection.exchangeDeclare({ exchange: other, type: 'direct' });
    extraExchanges.push(other);
    const queue = await queueFor('invoice.paid', other);
    const event = storedEvent({ destination: `${other}/invoice.paid` });

    await publisher.publish(event);

    expect((await drain(connection, queue)).map((m) => m.messageId)).toEqual([event.id]);
  });

  it('rejects an unroutable event as permanent "unroutable" and delivers it nowhere', async () => {
    const queue = await queueFor('bound.key');
    const event = storedEvent({ destination: 'nobody.listens' });

    const err = await publishError(publisher.publish(event));

    expect(err.reason).toBe('unroutable');
    expect(err.permanent).toBe(true);
    expect(err.message).toContain(event.id);
    expect(err.message).toContain('nobody.listens');
    expect(await drain(connection, queue)).toHaveLength(0);
  });

  it('classifies each of 500 pipelined publishes correctly when every 7th is unroutable', async () => {
    const queue = await queueFor('pipelined.ok');
    const events: StoredEvent[] = [];
    for (let i = 0; i < 500; i++) {
      const unroutable = i % 7 === 0;
      events.push(
        storedEvent(
          { aggregateId: `agg-${i}`, destination: unroutable ? 'pipelined.nobody' : 'pipelined.ok', payload: { i } },
          { sequence: 1, position: i + 1 },
        ),
      );
    }

    const outcomes = await Promise.allSettled(events.map((event) => publisher.publish(event)));

    const expectedUnroutable = events.filter((_, i) => i % 7 === 0).map((e) => e.id);
    const expectedDelivered = events.filter((_, i) => i % 7 !== 0).map((e) => e.id);
    const rejected = outcomes.flatMap((outcome, i) => (outcome.status === 'rejected' ? [{ id: events[i]!.id, err: outcome.reason }] : []));
    const fulfilled = outcomes.flatMap((outcome, i) => (outcome.status === 'fulfilled' ? [events[i]!.id] : []));
    expect(rejected.map((r) => r.id)).toEqual(expectedUnroutable);
    for (const { err } of rejected) {
      expect(err).toBeInstanceOf(PublishError);
      expect((err as PublishError).reason).toBe('unroutable');
    }
    expect(fulfilled).toEqual(expectedDelivered);
    const delivered = (await drain(connection, queue)).map((m) => m.messageId);
    expect(delivered).toHaveLength(expectedDelivered.length);
    expect(new Set(delivered)).toEqual(new Set(expectedDelivered));
  });

  it('rejects an event the broker nacks (full reject-publish queue) as permanent "rejected"', async () => {
    const queue = uniqueName('okt_rmq_full');
    await connection.queueDeclare({ queue, durable: false, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } });
    queues.push(queue);
    await connection.queueBind({ queue, exchange, routingKey: 'full' });
    const accepted = storedEvent({ destination: 'full' });
    const refused = storedEvent({ destination: 'full' });

    await publisher.publish(accepted);
    const err = await publishError(publisher.publish(refused));

    expect(err.reason).toBe('rejected');
    expect(err.permanent).toBe(true);
    expect(err.message).toContain(refused.id);
    expect((await drain(connection, queue)).map((m) => m.messageId)).toEqual([accepted.id]);
  });

  it('refuses a body over maxMessageBytes as permanent "too-large" before sending, and sends one at the limit', async () => {
    const queue = await queueFor('sized');
    const small = createRabbitPublisher({ connection, exchange, maxMessageBytes: 1024 });
    try {
      const atLimit = storedEvent({ destination: 'sized', payload: { s: 'x'.repeat(1024 - 8) } });
      const overLimit = storedEvent({ destination: 'sized', payload: { s: 'x'.repeat(1024 - 7) } });
      expect(toAmqpMessage(atLimit).body.length).toBe(1024);

      const err = await publishError(small.publish(overLimit));
      await small.publish(atLimit);

      expect(err.reason).toBe('too-large');
      expect(err.permanent).toBe(true);
      expect(err.message).toContain('1025-byte');
      expect(err.message).toContain('maxMessageBytes');
      expect((await drain(connection, queue)).map((m) => m.messageId)).toEqual([atLimit.id]);
    } finally {
      await small.close();
    }
  });

  it('rejects a missing destination exchange as permanent "invalid-destination" and keeps working', async () => {
    const queue = await queueFor('after.missing');
    const missing = uniqueName('okt_rmq_missing');
    const lost = storedEvent({ destination: `${missing}/anything` });
    const next = storedEvent({ destination: 'after.missing' });

    const err = await publishError(publisher.publish(lost));
    await publisher.publish(next);

    expect(err.reason).toBe('invalid-destination');
    expect(err.permanent).toBe(true);
    expect(err.message).toContain(missing);
    expect((await drain(connection, queue)).map((m) => m.messageId)).toEqual([next.id]);
  });

  it('notices an exchange deleted after use, blames only its event, and recovers', async () => {
    const doomed = uniqueName('okt_rmq_doomed');
    await connection.exchangeDeclare({ exchange: doomed, type: 'direct' });
    const doomedQueue = await queueFor('k', doomed);
    const queue = await queueFor('bystander');
    await publisher.publish(storedEvent({ destination: `${doomed}/k` }));
    expect(await drain(connection, doomedQueue)).toHaveLength(1);
    await connection.exchangeDelete({ exchange: doomed });

    // Bystanders in flight on the same channel when the broker closes it must not be blamed.
    const before = Array.from({ length: 20 }, (_, i) => storedEvent({ aggregateId: `b-${i}`, destination: 'bystander' }));
    const victim = storedEvent({ destination: `${doomed}/k` });
    const after = Array.from({ length: 20 }, (_, i) => storedEvent({ aggregateId: `a-${i}`, destination: 'bystander' }));
    const outcomes = await Promise.allSettled([...before, victim, ...after].map((event) => publisher.publish(event)));

    const victimOutcome = outcomes[before.length]!;
    expect(victimOutcome.status).toBe('rejected');
    const bystanderOutcomes = outcomes.filter((_, i) => i !== before.length);
    for (const outcome of bystanderOutcomes) {
      if (outcome.status === 'rejected') {
        expect(outcome.reason).toBeInstanceOf(PublishError);
        expect((outcome.reason as PublishError).permanent).toBe(false);
      }
    }
    const retry = await publishError(publisher.publish(victim));
    expect(retry.reason).toBe('invalid-destination');
    expect(retry.permanent).toBe(true);
    const later = storedEvent({ destination: 'bystander' });
    await publisher.publish(later);
    const delivered = (await drain(connection, queue)).map((m) => m.messageId);
    expect(delivered).toContain(later.id);
    expect(delivered).not.toContain(victim.id);
  });

  it('reports the shared connection as up and leaves it open on close', async () => {
    const own = createRabbitPublisher({ connection, exchange });
    expect(own.isConnected()).toBe(true);
    await own.close();
    expect(own.isConnected()).toBe(false);
    expect(connection.ready).toBe(true);
    const err = await publishError(own.publish(storedEvent()));
    expect(err.reason).toBe('connection');
    expect(err.permanent).toBe(false);
  });
});
