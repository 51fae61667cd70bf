import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvents } from '@outboxkit/core';
import { decodeInboxEvent } from '@outboxkit/rabbitmq';
import { openDatabase } from '@outboxkit/relay';
import { RabbitTestBed, serviceUrl, uniqueName } from '@outboxkit/testkit';
import type { AsyncMessage } from 'rabbitmq-client';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { runCli } from './support/relay-process.js';

/** `outbox-relay run` with a CloudEvents --message-format (flag or environment) through the real RabbitMQ. */
describe('outbox-relay run --message-format', () => {
  let db: TestDatabase;
  let dbFlags: string[];
  let brokerUrl: string;
  let rabbit: RabbitTestBed;
  const exchanges: string[] = [];

  beforeAll(async () => {
    db = await createTestDatabase('PostgreSQL');
    dbFlags = ['--database-url', db.url, '--schema', db.schema!];
    expect((await runCli(['migrate', ...dbFlags])).code).toBe(0);
    brokerUrl = await serviceUrl('rabbitmq');
    rabbit = new RabbitTestBed(brokerUrl);
  });

  afterAll(async () => {
    for (const exchange of exchanges) await rabbit?.connection.exchangeDelete({ exchange }).catch(() => undefined);
    await rabbit?.close();
    await db?.dispose();
  });

  /** An exchange of this test with one queue bound to every routing key. */
  async function exchangeWithQueue(): Promise<{ exchange: string; queue: string }> {
    const exchange = uniqueName('okt_ce_x');
    await rabbit.connection.exchangeDeclare({ exchange, type: 'topic', durable: true });
    exchanges.push(exchange);
    const queue = await rabbit.declare(uniqueName('okt_ce_q'));
    await rabbit.connection.queueBind({ queue, exchange, routingKey: '#' });
    return { exchange, queue };
  }

  async function writeOrder(aggregateId: string): Promise<void> {
    const target = await openDatabase(db.url, { tables: { schema: db.schema! } });
    try {
      await target.database.transaction((tx) =>
        writeEvents(target.dialect, tx, [{ aggregateType: 'order', aggregateId, type: 'order.placed', payload: { orderId: aggregateId } }]),
      );
    } finally {
      await target.database.close();
    }
  }

  it.each([
    ['flags', 'cloudevents-binary', (format: string) => ({ args: ['--message-format', format, '--cloudevents-source', 'urn:example:shop'], env: {} })],
    [
      'environment',
      'cloudevents-structured',
      (format: string) => ({ args: [], env: { OUTBOX_MESSAGE_FORMAT: format, OUTBOX_CLOUDEVENTS_SOURCE: 'urn:example:shop' } }),
    ],
  ])(
    'set by %s, %s reaches the queue as a CloudEvent the inbox decodes',
    async (_how, format, wireFlags) => {
      const { exchange, queue } = await exchangeWithQueue();
      const aggregateId = uniqueName('o');
      await writeOrder(aggregateId);
      const { args, env } = wireFlags(format);
      const run = await runCli(['run', '--once', ...dbFlags, '--broker-url', brokerUrl, '--exchange', exchange, '--log-level', 'silent', ...args], env);
      expect(run.code).toBe(0);

      const message = await rabbit.get(queue);
      expect(message).toBeDefined();
      if (format === 'cloudevents-binary') {
        expect(message?.contentType).toBe('application/json');
        expect(message?.headers).toMatchObject({
          'cloudEvents:specversion': '1.0',
          'cloudEvents:source': 'urn:example:shop',
          'cloudEvents:outboxaggregateid': aggregateId,
        });
      } else {
        expect(message?.contentType).toBe('application/cloudevents+json');
        expect(JSON.parse(String(message?.body))).toMatchObject({ specversion: '1.0', source: 'urn:example:shop', outboxaggregateid: aggregateId });
      }
      expect(decodeInboxEvent(message as unknown as AsyncMessage)).toMatchObject({
        id: message?.messageId,
        type: 'order.placed',
        aggregateType: 'order',
        aggregateId,
        sequence: 1,
        payload: { orderId: aggregateId },
      });
    },
    60_000,
  );
});
