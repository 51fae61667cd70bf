import { Connection, type Publisher } from 'rabbitmq-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope } from '@outboxkit/core';
import { OUTBOX_HEADERS, toAmqpMessage } from '@outboxkit/rabbitmq';
import { DeliveryLog, allCommittedDelivered, collectQueue, serviceUrl, uniqueName } from '../src/index.js';

/** Publishes like outboxkit's relay does: messageId = event id, aggregate and sequence in headers. */
function outboxMessage(exchange: string, id: string, aggregateId: string, sequence: number | string) {
  return {
    exchange,
    routingKey: `order.${aggregateId}`,
    messageId: id,
    headers: {
      [OUTBOX_HEADERS.aggregateType]: 'order',
      [OUTBOX_HEADERS.aggregateId]: aggregateId,
      [OUTBOX_HEADERS.sequence]: sequence,
    },
  };
}

describe('collectQueue (real RabbitMQ)', () => {
  let url: string;
  let connection: Connection;
  let publisher: Publisher;

  beforeAll(async () => {
    url = await serviceUrl('rabbitmq');
    connection = new Connection(url);
    publisher = connection.createPublisher({ confirm: true });
  });

  afterAll(async () => {
    await publisher?.close();
    await connection?.close();
  });

  it('records every delivery with its id, aggregate and sequence, duplicates and strays included', async () => {
    const exchange = uniqueName('okt_collect_x');
    await connection.exchangeDeclare({ exchange, type: 'topic', autoDelete: true });
    const collector = await collectQueue({ url, queue: uniqueName('okt_collect_q'), declare: { exchange, bindingKeys: ['order.#'] } });
    try {
      await publisher.send(outboxMessage(exchange, 'e1', 'a', 1), { n: 1 });
      await publisher.send(outboxMessage(exchange, 'e2', 'a', 2), { n: 2 });
      await publisher.send(outboxMessage(exchange, 'e1', 'a', 1), { n: 1 }); // a redelivery, as a relay retry would send it
      await publisher.send(outboxMessage(exchange, 'e3', 'b', '7'), { n: 3 }); // sequence as a string header
      await publisher.send({ exchange, routingKey: 'order.stray' }, 'no outbox headers');
      await publisher.send({ exchange, routingKey: 'invoice.x', messageId: 'not-bound' }, 'routed nowhere');

      // Published last on the same channel, so once it is in, everything routable is in too.
      await publisher.send(outboxMessage(exchange, 'end', 'z', 1), 'end');
      await collector.waitFor(function endMarkerArrived(log) {
        return log.wasDelivered('end');
      }, 10_000);

      expect(collector.log.deliveries.map(({ id, aggregateType, aggregateId, sequence }) => ({ id, aggregateType, aggregateId, sequence }))).toEqual([
        { id: 'e1', aggregateType: 'order', aggregateId: 'a', sequence: 1 },
        { id: 'e2', aggregateType: 'order', aggregateId: 'a', sequence: 2 },
        { id: 'e1', aggregateType: 'order', aggregateId: 'a', sequence: 1 },
        { id: 'e3', aggregateType: 'order', aggregateId: 'b', sequence: 7 },
        { id: expect.stringMatching(/^\(no messageId: delivery tag \d+/), aggregateType: undefined, aggregateId: undefined, sequence: undefined },
        { id: 'end', aggregateType: 'order', aggregateId: 'z', sequence: 1 },
      ]);
      expect(collector.messages.map((message) => message.body)).toEqual([{ n: 1 }, { n: 2 }, { n: 1 }, { n: 3 }, 'no outbox headers', 'end']);
      expect(collector.log.distinctDelivered).toBe(5);
    } finally {
      await collector.close();
      await connection.exchangeDelete({ exchange });
    }
  });

  it("reads the relay's own wire format (toAmqpMessage) back into the event's identity", async () => {
    const exchange = uniqueName('okt_collect_x');
    const collector = await collectQueue({ url, queue: uniqueName('okt_collect_q'), declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic' } });
    try {
      const envelope = createEnvelope({ aggregateType: 'invoice', aggregateId: 42, type: 'InvoiceIssued', payload: { total: 5 } });
      const { properties, body } = toAmqpMessage({ ...envelope, sequence: 3, position: 17, attempts: 0 });
      await publisher.send({ exchange, routingKey: envelope.type, ...properties }, body);

      await collector.waitFor(1, 10_000);

      expect(collector.log.deliveries[0]).toEqual({ id: envelope.id, aggregateType: 'invoice', aggregateId: '42', sequence: 3, arrival: 0 });
    } finally {
      await collector.close();
    }
  });

  it('feeds a shared log, so the checker sees attempts and deliveries together', async () => {
    const log = new DeliveryLog();
    const exchange = uniqueName('okt_collect_x');
    const collector = await collectQueue({ url, queue: uniqueName('okt_collect_q'), log, declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic' } });
    try {
      log.attempted({ id: 'c1', aggregateType: 'order', aggregateId: 'a', sequence: 1 }, 'committed');
      log.attempted({ id: 'c2', aggregateType: 'order', aggregateId: 'a', sequence: 2 }, 'committed');
      log.attempted({ id: 'rb', aggregateType: 'order', aggregateId: 'a', sequence: 3 }, 'rolled-back');
      await publisher.send(outboxMessage(exchange, 'c2', 'a', 2), {});
      await publisher.send(outboxMessage(exchange, 'c1', 'a', 1), {});
      await publisher.send(outboxMessage(exchange, 'rb', 'a', 3), {});

      await collector.waitFor(allCommittedDelivered, 10_000);
      await collector.waitFor(3, 10_000);
      const report = log.check();

      expect(collector.log).toBe(log);
      expect(report.lost).toEqual([]);
      expect(report.unexpected.map(({ id, reason }) => ({ id, reason }))).toEqual([{ id: 'rb', reason: 'rolled-back' }]);
      expect(report.orderViolations.map(({ id, previousId }) => ({ id, previousId }))).toEqual([{ id: 'c1', previousId: 'c2' }]);
    } finally {
      await collector.close();
    }
  });

  it('rejects a wait that is not satisfied in time, naming what is still missing', async () => {
    const log = new DeliveryLog();
    const exchange = uniqueName('okt_collect_x');
    const collector = await collectQueue({ url, queue: uniqueName('okt_collect_q'), log, declare: { exchange, bindingKeys: ['#'], exchangeType: 'fanout' } });
    try {
      log.attempted({ id: 'sent', aggregateType: 'order', aggregateId: 'a', sequence: 1 }, 'committed');
      log.attempted({ id: 'never-sent', aggregateType: 'order', aggregateId: 'a', sequence: 2 }, 'committed');
      await publisher.send(outboxMessage(exchange, 'sent', 'a', 1), {});
      await collector.waitFor(1, 10_000);

      await expect(collector.waitFor(allCommittedDelivered, 300)).rejects.toThrow(
        `timed out after 300 ms waiting for allCommittedDelivered; received 1 deliveries (1 distinct ids); ` +
          `committed events not delivered yet (1): never-sent order/a #2`,
      );
      await expect(collector.waitFor(2, 300)).rejects.toThrow(/waiting for 2 deliveries; received 1 deliveries/);
    } finally {
      await collector.close();
    }
  });

  it('deletes the queue and exchange it declared on close, and leaves a passed-in connection open', async () => {
    const exchange = uniqueName('okt_collect_x');
    const queue = uniqueName('okt_collect_q');
    const collector = await collectQueue({ connection, queue, declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true } });

    await expect(connection.queueDeclare({ queue, passive: true })).resolves.toMatchObject({ queue });
    await collector.close();

    await expect(connection.queueDeclare({ queue, passive: true })).rejects.toThrow(/NOT_FOUND/);
    await expect(connection.exchangeDeclare({ exchange, type: 'topic', passive: true })).rejects.toThrow(/NOT_FOUND/);
    await expect(collector.waitFor(1, 100)).rejects.toThrow(/closed collector/);
    // The connection still works: the collector did not close what it did not open.
    await expect(publisher.send({ routingKey: queue }, 'ping')).resolves.toBeUndefined();
  });

  it('gives up on an unreachable broker after readyTimeoutMs, without showing the password', async () => {
    // Port 1 on loopback: nothing listens there, so the client keeps retrying until we give up.
    const unreachable = 'amqp://guest:s3cret@127.0.0.1:1';

    const attempt = collectQueue({ url: unreachable, queue: uniqueName('okt_nowhere_q'), readyTimeoutMs: 300 });

    await expect(attempt).rejects.toThrow('consumer not ready after 300 ms on amqp://guest:***@127.0.0.1:1');
    await expect(attempt).rejects.not.toThrow(/s3cret/);
  });

  it('fails clearly when asked to consume a queue that does not exist', async () => {
    const queue = uniqueName('okt_missing_q');

    await expect(collectQueue({ url, queue, readyTimeoutMs: 10_000 })).rejects.toThrow(
      new RegExp(`collectQueue\\(${queue}\\): consumer setup failed: .*NOT_FOUND`),
    );
  });
});
