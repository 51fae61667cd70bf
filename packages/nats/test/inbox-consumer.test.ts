import * as sqlite from '@outboxkit/sqlite';
import { DEAD_LETTER_HEADERS, type InboxEvent } from '@outboxkit/core';
import { freePort, serviceUrl, sqliteConformanceDatabase, startNatsServer, storedEvent, waitFor, type ConformanceDatabase } from '@outboxkit/testkit';
import { jetstream, jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsInboxConsumer, toNatsMessage, type NatsInboxConsumer, type NatsInboxConsumerOptions } from '../src/index.js';
import { toMsgHdrs } from '../src/wire-format.js';
import { addTestStream } from './streams.js';

describe('NATS inbox consumer', () => {
  let url: string;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let db: ConformanceDatabase;
  const streams: string[] = [];
  const consumers: NatsInboxConsumer[] = [];

  beforeAll(async () => {
    url = await serviceUrl('nats');
    nc = await connect({ servers: url.replace(/^nats:\/\//, '') });
    jsm = await jetstreamManager(nc);
    db = await sqliteConformanceDatabase(sqlite);
    await db.database.query('CREATE TABLE effects (event_id TEXT NOT NULL)');
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.close();
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
    await nc?.close();
    await db?.dispose();
  });

  /** A stream of its own; returns its name and subject prefix. */
  const newStream = () => addTestStream(jsm, streams, 'okt_in');

  /** Publishes `event` as the relay would, but without Nats-Msg-Id, so JetStream stores every copy. */
  async function publishRaw(subject: string, event: ReturnType<typeof storedEvent>): Promise<void> {
    const { data, headers } = toNatsMessage(event);
    await jetstream(nc).publish(subject, data, { headers: toMsgHdrs(headers) });
  }

  async function consume(stream: string, options: Partial<NatsInboxConsumerOptions> = {}): Promise<NatsInboxConsumer> {
    const consumer = createNatsInboxConsumer({
      connection: url,
      stream,
      consumer: `${stream}_C`,
      db: db.database,
      dialect: db.dialect,
      handler: async (event: InboxEvent, tx) => {
        await tx.query('INSERT INTO effects (event_id) VALUES (?)', [event.id]);
      },
      retryDelayMs: 10,
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

  it('ready() rejects with the reason while NATS is unreachable (no password in it), and resolves once it is up', async () => {
    const options = {
      stream: 'OKT_LATE',
      consumer: 'late_c',
      db: db.database,
      dialect: db.dialect,
      handler: async () => undefined,
    };
    const closedPort = await freePort();
    const refused = createNatsInboxConsumer({ ...options, connection: `nats://okt:s3cretpw@127.0.0.1:${closedPort}` });
    consumers.push(refused);
    const error: Error & { code?: string } = await refused.ready().then(
      () => new Error('ready() resolved without a broker'),
      (rejection: unknown) => rejection as Error & { code?: string },
    );
    expect(error.code).toBe('OUTBOX_CONSUMER_SETUP');
    expect(error.message).toMatch(/inbox consumer "late_c" could not start on NATS: .*ECONNREFUSED.*the consumer keeps retrying/);
    expect(error.message).not.toContain('s3cretpw');

    const server = await startNatsServer();
    try {
      await server.kill();
      const late = createNatsInboxConsumer({ ...options, connection: server.url });
      consumers.push(late);
      await expect(late.ready()).rejects.toMatchObject({ code: 'OUTBOX_CONSUMER_SETUP' });
      await server.start();
      const admin = await connect({ servers: server.url.replace(/^nats:\/\//, '') });
      await (await jetstreamManager(admin)).streams.add({ name: 'OKT_LATE', subjects: ['late.>'], storage: StorageType.File });
      await admin.close();
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

  it('applies an event stored twice once and counts the duplicate', async () => {
    const { stream, prefix } = await newStream();
    const repeated = storedEvent({ aggregateId: 'dup-1' });
    const other = storedEvent({ aggregateId: 'dup-2' });
    for (const event of [repeated, repeated, other]) await publishRaw(`${prefix}.order.placed`, event);
    const consumer = await consume(stream);
    await waitFor('three deliveries judged', () => consumer.stats().processed + consumer.stats().duplicates === 3);
    expect(consumer.stats()).toMatchObject({ processed: 2, duplicates: 1, failed: 0, deadLettered: 0 });
    expect(await effects(repeated.id)).toBe(1);
    expect(await effects(other.id)).toBe(1);
  });

  it('redelivers a failing event until maxDeliveries, then dead-letters it with the error and terminates it', async () => {
    const { stream, prefix } = await newStream();
    const poison = storedEvent({ aggregateId: 'poison' });
    let runs = 0;
    const consumer = await consume(stream, {
      maxDeliveries: 3,
      handler: async () => {
        runs++;
        throw new Error('handler refuses');
      },
    });
    await publishRaw(`${prefix}.order.placed`, poison);
    await waitFor('the dead letter', () => consumer.stats().deadLettered === 1);
    expect(runs).toBe(3);
    expect(consumer.stats()).toMatchObject({ failed: 3, deadLettered: 1, processed: 0 });
    const dead = await jsm.streams.getMessage(`${stream}_C_DEAD`, { last_by_subj: `outboxkit.dead.${stream}_C` });
    expect(dead?.header.get(DEAD_LETTER_HEADERS.error)).toMatch(/handler refuses/);
    expect(dead?.header.get(DEAD_LETTER_HEADERS.deliveries)).toBe('3');
    expect(dead?.header.get('x-outbox-event-id')).toBe(poison.id);
    expect(dead?.json()).toEqual(poison.payload);
  });

  it('dead-letters a message that is not an outbox event at once', async () => {
    const { stream, prefix } = await newStream();
    const consumer = await consume(stream);
    await jetstream(nc).publish(`${prefix}.junk`, Buffer.from('not json'));
    await waitFor('the dead letter', () => consumer.stats().deadLettered === 1);
    const dead = await jsm.streams.getMessage(`${stream}_C_DEAD`, { last_by_subj: `outboxkit.dead.${stream}_C` });
    expect(dead?.header.get(DEAD_LETTER_HEADERS.error)).toMatch(/undecodable message: .*x-outbox-event-id/);
    expect(dead?.header.get(DEAD_LETTER_HEADERS.deliveries)).toBe('1');
  });
});
