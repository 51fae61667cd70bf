import * as sqlite from '@outboxkit/sqlite';
import { DEAD_LETTER_HEADERS, type InboxEvent } from '@outboxkit/core';
import {
  freePort,
  serviceUrl,
  sqliteConformanceDatabase,
  startRedisServer,
  storedEvent,
  uniqueName,
  waitFor,
  type ConformanceDatabase,
} from '@outboxkit/testkit';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisInboxConsumer, toStreamFields, type RedisInboxConsumer, type RedisInboxConsumerOptions } from '../src/index.js';

describe('Redis inbox consumer', () => {
  let url: string;
  let client: ReturnType<typeof createClient>;
  let db: ConformanceDatabase;
  const keys: string[] = [];
  const consumers: RedisInboxConsumer[] = [];

  beforeAll(async () => {
    url = await serviceUrl('redis');
    client = createClient({ url });
    await client.connect();
    db = await sqliteConformanceDatabase(sqlite);
    await db.database.query('CREATE TABLE effects (event_id TEXT NOT NULL)');
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.close();
    if (keys.length > 0) await client?.del(keys);
    client?.destroy();
    await db?.dispose();
  });

  function newStream(): string {
    const stream = uniqueName('okt_in');
    keys.push(stream, `${stream}:dead`);
    return stream;
  }

  async function consume(stream: string, options: Partial<RedisInboxConsumerOptions> = {}): Promise<RedisInboxConsumer> {
    const consumer = createRedisInboxConsumer({
      connection: url,
      stream,
      consumer: `c_${stream}`,
      db: db.database,
      dialect: db.dialect,
      handler: async (event: InboxEvent, tx) => {
        await tx.query('INSERT INTO effects (event_id) VALUES (?)', [event.id]);
      },
      retryDelayMs: 10,
      blockMs: 50,
      ...options,
    });
    consumers.push(consumer);
    await consumer.ready();
    return consumer;
  }

  async function effects(id: string): Promise<number> {
    const { rows } = await db.database.query<{ n: number }>('SELECT count(*) AS n FROM effects WHERE event_id = ?', [id]);
    return Number(rows[0]!.n);
  }

  it('ready() rejects with the reason while Redis is unreachable (no password in it), and resolves once it is up', async () => {
    const options = {
      stream: 'okt_late',
      consumer: 'late_c',
      db: db.database,
      dialect: db.dialect,
      handler: async () => undefined,
      blockMs: 50,
    };
    const closedPort = await freePort();
    const refused = createRedisInboxConsumer({ ...options, connection: `redis://okt:s3cretpw@127.0.0.1:${closedPort}` });
    consumers.push(refused);
    const error: Error & { code?: string } = await refused.ready().then(
      () => new Error('ready() resolved without a broker'),
      (rejection: unknown) => rejection as Error & { code?: string },
    );
    expect(error.code).toBe('OUTBOX_CONSUMER_SETUP');
    expect(error.message).toMatch(/inbox consumer "late_c" could not start on Redis: .*ECONNREFUSED.*the consumer keeps retrying/);
    expect(error.message).not.toContain('s3cretpw');

    const server = await startRedisServer({ persistence: 'off' });
    try {
      await server.kill();
      const late = createRedisInboxConsumer({ ...options, connection: server.url });
      consumers.push(late);
      await expect(late.ready()).rejects.toMatchObject({ code: 'OUTBOX_CONSUMER_SETUP' });
      await server.start();
      // The consumer retried by itself: ready() now resolves.
      await waitFor(
        'ready() resolves after the broker came up',
        () =>
          late.ready().then(
            () => true,
            () => false,
          ),
        30_000,
      );
      await late.close();
    } finally {
      await server.dispose();
    }
  }, 60_000);

  it('applies an event added twice once, counts the duplicate and acks both entries', async () => {
    const stream = newStream();
    const repeated = storedEvent({ aggregateId: 'dup-1' });
    const other = storedEvent({ aggregateId: 'dup-2' });
    for (const event of [repeated, repeated, other]) await client.xAdd(stream, '*', toStreamFields(event));
    const consumer = await consume(stream);
    await waitFor('three entries judged', () => consumer.stats().processed + consumer.stats().duplicates === 3);
    expect(consumer.stats()).toMatchObject({ processed: 2, duplicates: 1, failed: 0, deadLettered: 0 });
    expect(await effects(repeated.id)).toBe(1);
    await waitFor('no entry pending', async () => (await client.xPending(stream, `c_${stream}`)).pending === 0);
  });

  it('claims a failing entry back until maxDeliveries, then adds it to the dead-letter stream with the error and acks it', async () => {
    const stream = newStream();
    const poison = storedEvent({ aggregateId: 'poison' });
    let runs = 0;
    const consumer = await consume(stream, {
      maxDeliveries: 3,
      handler: async () => {
        runs++;
        throw new Error('handler refuses');
      },
    });
    await client.xAdd(stream, '*', toStreamFields(poison));
    await waitFor('the dead letter', () => consumer.stats().deadLettered === 1);
    expect(runs).toBe(3);
    expect(consumer.stats()).toMatchObject({ failed: 3, deadLettered: 1, processed: 0 });
    const [dead] = (await client.xRange(`${stream}:dead`, '-', '+')) ?? [];
    expect(dead!.message[DEAD_LETTER_HEADERS.error]).toMatch(/handler refuses/);
    expect(dead!.message[DEAD_LETTER_HEADERS.deliveries]).toBe('3');
    expect(dead!.message['x-outbox-event-id']).toBe(poison.id);
    await waitFor('no entry pending', async () => (await client.xPending(stream, `c_${stream}`)).pending === 0);
  });

  it('takes over an entry another consumer of the group left pending past claimIdleMs', async () => {
    const stream = newStream();
    const group = `c_${stream}`;
    const event = storedEvent({ aggregateId: 'orphan' });
    await client.xGroupCreate(stream, group, '0', { MKSTREAM: true });
    await client.xAdd(stream, '*', toStreamFields(event));
    // A consumer that read the entry and died before acking it.
    await client.xReadGroup(group, 'dead-consumer', { key: stream, id: '>' }, { COUNT: 10 });
    const consumer = await consume(stream, { claimIdleMs: 200 });
    await waitFor('the orphan processed', () => consumer.stats().processed === 1);
    expect(await effects(event.id)).toBe(1);
  });
});
