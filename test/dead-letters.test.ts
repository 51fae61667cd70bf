import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEAD_LETTER_HEADERS, type InboxConsumerHandle, type InboxEvent, type StoredEvent } from '@outboxkit/core';
import { createNatsInboxConsumer, toNatsMessage } from '@outboxkit/nats';
import { toAmqpMessage, createInboxConsumer, type InboxConsumer } from '@outboxkit/rabbitmq';
import { createRedisInboxConsumer, toStreamFields } from '@outboxkit/redis';
import { createPubsubInboxConsumer, orderingKey, toPubsubMessage } from '@outboxkit/pubsub';
import { createSqsInboxConsumer, toAwsMessage } from '@outboxkit/sqs';
import {
  awsBrokerUrl,
  awsClientOptions,
  createSqsQueue,
  pubsubBrokerUrl,
  pubsubEmulatorOptions,
  serviceUrl,
  startFauxqs,
  startPubsubEmulator,
  storedEvent,
  uniqueName,
} from '@outboxkit/testkit';
import { PubSub } from '@google-cloud/pubsub';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { createClient } from 'redis';
import { openInboxDb, type InboxTestDb } from './fixtures/inbox-db.mjs';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { RabbitTestBed, waitFor } from './support/inbox-helpers.js';
import { runCli } from './support/relay-process.js';

// Issue 21, item 6: what an inbox consumer dead-lettered can be listed and sent back with the
// original ids; the consumer's inbox drops what it already applied.

/** The consumers' handler: fails while `broken()` says so, else records the effect in the inbox database. */
function appliesUnless(inbox: () => InboxTestDb, broken: () => boolean): Handler {
  return async (event, tx) => {
    if (broken()) throw new Error('the payment provider is down');
    await inbox().insertEffect(tx, event.id, 'applied');
  };
}

interface ListedLetter {
  id: string | null;
  error: string | null;
  sourceQueue: string | null;
  attempts: number;
}

describe('outbox-relay dead-letters (RabbitMQ, SQLite inbox)', () => {
  let database: TestDatabase;
  let inbox: InboxTestDb;
  let rabbit: RabbitTestBed;
  let amqpUrl: string;
  let consumer: InboxConsumer;
  const queue = uniqueName('okt_dlq');
  let broken = true;

  beforeAll(async () => {
    amqpUrl = await serviceUrl('rabbitmq');
    database = await createTestDatabase('SQLite');
    inbox = await openInboxDb('SQLite', database.url, database.schema);
    rabbit = new RabbitTestBed(amqpUrl);
    await rabbit.declare(queue);
    consumer = createInboxConsumer({
      connection: amqpUrl,
      queue,
      consumer: `c_${queue}`,
      db: inbox.db,
      dialect: inbox.dialect,
      maxAttempts: 2,
      retryDelayMs: 10,
      handler: appliesUnless(
        () => inbox,
        () => broken,
      ),
    });
    await consumer.ready();
  });

  afterAll(async () => {
    await consumer?.close();
    await rabbit?.close();
    await inbox?.close();
    await database?.dispose();
  });

  const flags = (): string[] => ['--queue', queue, '--broker-url', amqpUrl];

  it('lists what the consumer gave up on without removing it, and sends it back once the cause is fixed; an applied event is dropped by the inbox', async () => {
    const failed = [storedEvent({ aggregateId: 'dl-1' }, 1), storedEvent({ aggregateId: 'dl-2' }, 1), storedEvent({ aggregateId: 'dl-3' }, 1)];
    for (const event of failed) await rabbit.publish(queue, event);
    await waitFor('three dead letters', () => consumer.stats().deadLettered === 3);

    for (let look = 0; look < 2; look++) {
      const listed = await runCli(['dead-letters', 'list', '--json', ...flags()]);
      expect(listed.code).toBe(0);
      const letters = JSON.parse(listed.stdout) as ListedLetter[];
      expect(letters.map((letter) => letter.id)).toEqual(failed.map((event) => event.id));
      expect(letters.every((letter) => letter.sourceQueue === queue && letter.attempts === 2)).toBe(true);
      expect(letters[0]!.error).toMatch(/the payment provider is down/);
    }

    // The cause is fixed. One event the consumer already applied also sits in the dead letters
    // (a copy dead-lettered while another copy succeeded): replaying it must not apply it twice.
    broken = false;
    const applied = storedEvent({ aggregateId: 'dl-4' }, 1);
    await rabbit.publish(queue, applied);
    await waitFor('the applied event', async () => (await inbox.effectCount(applied.id)) === 1);
    const { properties, body } = toAmqpMessage(applied);
    const injector = rabbit.connection.createPublisher({ confirm: true });
    await injector.send(
      { ...properties, exchange: '', routingKey: `${queue}.dead`, headers: { ...properties.headers, 'x-outbox-source-queue': queue, 'x-outbox-attempts': 2 } },
      body,
    );
    await injector.close();

    const before = consumer.stats();
    const replay = await runCli(['dead-letters', 'replay', '--inbox-retention', '1ms', ...flags()]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/4 dead letter\(s\) redelivered, 0 kept/);
    // Every event is older than a 1 ms retention: each one is warned about.
    expect(replay.stderr.match(/dead-letters: warning: event \S+ occurred .* before the inbox retention \(1ms\)/g)?.length).toBe(4);

    await waitFor('three applied and one duplicate', () => {
      const now = consumer.stats();
      return now.processed - before.processed === 3 && now.duplicates - before.duplicates === 1;
    });
    for (const event of [...failed, applied]) expect(await inbox.effectCount(event.id)).toBe(1);
    expect(consumer.stats().deadLettered).toBe(3);
    const after = await runCli(['dead-letters', 'list', ...flags()]);
    expect(after.stdout).toMatch(/^0 dead letter\(s\) in /m);
  });

  it('replay --id sends only those and names ids that are not there; the rest stay', async () => {
    broken = true;
    const events = [storedEvent({ aggregateId: 'dl-5' }, 1), storedEvent({ aggregateId: 'dl-6' }, 1)];
    for (const event of events) await rabbit.publish(queue, event);
    await waitFor('two more dead letters', () => consumer.stats().deadLettered === 5);
    broken = false;

    const absent = '0190b5a0-0000-7000-8000-00000000d1e0';
    const replay = await runCli(['dead-letters', 'replay', '--id', events[0]!.id, absent, ...flags()]);
    expect(replay.code).toBe(1);
    expect(replay.stdout).toMatch(/1 dead letter\(s\) redelivered, 1 kept/);
    expect(replay.stderr).toMatch(new RegExp(`not in the dead-letter queue: ${absent}`));
    await waitFor('the selected one applied', async () => (await inbox.effectCount(events[0]!.id)) === 1);
    const left = JSON.parse((await runCli(['dead-letters', 'list', '--json', ...flags()])).stdout) as ListedLetter[];
    expect(left.map((letter) => letter.id)).toEqual([events[1]!.id]);
    expect(await inbox.effectCount(events[1]!.id)).toBe(0);
  });

  it.each([
    [
      ['dead-letters', 'list', '--queue', 'q', '--broker-url', 'sns+http://u:s3cretpw@127.0.0.1:1/000000000000'],
      '--broker-url',
      /reads the dead letters of RabbitMQ, NATS, Redis, SQS, Pub\/Sub inbox consumers for now, but sns\+http:\/\/u:\*\*\*@127\.0\.0\.1:1\/000000000000 is a SNS URL/,
    ],
    [['dead-letters', 'list', '--queue', 'q', '--limit', '0'], '--limit', /must be an integer from 1 to 100000/],
  ])('%j exits 2 naming %s, without the password', async (args, flag, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`outbox-relay: ${flag}: `);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toContain('s3cretpw');
  });
});

/** One broker's inbox consumer with a SQLite inbox, for the shared dead-letter cases below. */
interface DeadLetterBed {
  /** `--queue` and `--broker-url` for it. */
  readonly flags: string[];
  readonly consumer: InboxConsumerHandle;
  /** Publishes `event` where the consumer reads. */
  send(event: StoredEvent): Promise<void>;
  /** Adds a dead letter of `event` as the consumer would write it (2 deliveries). */
  deadLetter(event: StoredEvent): Promise<void>;
  /** What `x-outbox-source` of this consumer's dead letters looks like. */
  readonly source: RegExp;
  /** The default dead-letter destination as `list` names it. */
  readonly where: RegExp;
  close(): Promise<void>;
}

type Handler = (event: InboxEvent, tx: Parameters<InboxTestDb['insertEffect']>[0]) => Promise<void>;
const consumerName = (): string => uniqueName('okt_dlc');

const BEDS: [string, (inbox: InboxTestDb, handler: Handler) => Promise<DeadLetterBed>][] = [
  [
    'SQS on fauxqs',
    async (inbox, handler) => {
      const fauxqs = await startFauxqs();
      const sqs = new SQSClient(awsClientOptions(fauxqs.url));
      const queue = uniqueName('okt_dlq');
      const dead = await createSqsQueue(fauxqs.url, `${queue}-dead`);
      // The consumer dead-letters after 2 deliveries, before SQS's own redrive (100) would.
      const { url } = await createSqsQueue(fauxqs.url, queue, { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dead.arn, maxReceiveCount: 100 }) });
      const send = async (to: string, event: StoredEvent, extra: Record<string, string> = {}): Promise<void> => {
        const { body, attributes } = toAwsMessage(event);
        for (const [name, value] of Object.entries(extra)) attributes[name] = { DataType: 'String', StringValue: value };
        await sqs.send(new SendMessageCommand({ QueueUrl: to, MessageBody: body, MessageAttributes: attributes }));
      };
      const consumer = createSqsInboxConsumer({
        connection: awsBrokerUrl(fauxqs.url),
        queue,
        consumer: consumerName(),
        db: inbox.db,
        dialect: inbox.dialect,
        maxDeliveries: 2,
        retryDelayMs: 10,
        waitTimeSeconds: 1,
        handler,
      });
      return {
        flags: ['--queue', queue, '--broker-url', awsBrokerUrl(fauxqs.url)],
        consumer,
        send: (event) => send(url, event),
        deadLetter: (event) => send(dead.url, event, { [DEAD_LETTER_HEADERS.source]: queue, [DEAD_LETTER_HEADERS.deliveries]: '2' }),
        source: new RegExp(`^${queue}$`),
        where: /the redrive target of okt_dlq/,
        async close() {
          await consumer.close();
          sqs.destroy();
          await fauxqs.dispose();
        },
      };
    },
  ],
  [
    'NATS JetStream',
    async (inbox, handler) => {
      const url = await serviceUrl('nats');
      const nc = await connect({ servers: url.replace(/^nats:\/\//, '') });
      const jsm = await jetstreamManager(nc);
      const stream = uniqueName('OKT_DL').toUpperCase();
      const subject = `${stream.toLowerCase()}.order`;
      await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
      const durable = consumerName();
      const consumer = createNatsInboxConsumer({
        connection: url,
        stream,
        consumer: durable,
        db: inbox.db,
        dialect: inbox.dialect,
        maxDeliveries: 2,
        retryDelayMs: 10,
        handler,
      });
      const publish = async (to: string, event: StoredEvent, extra: Record<string, string> = {}): Promise<void> => {
        const { data, headers } = toNatsMessage(event);
        const sent = natsHeaders();
        for (const [name, value] of Object.entries({ ...headers, ...extra })) sent.set(name, value);
        await jetstream(nc).publish(to, data, { headers: sent });
      };
      return {
        flags: ['--queue', durable, '--broker-url', url],
        consumer,
        send: (event) => publish(subject, event),
        deadLetter: (event) =>
          publish(`outboxkit.dead.${durable}`, event, { [DEAD_LETTER_HEADERS.source]: `${stream}/${subject}`, [DEAD_LETTER_HEADERS.deliveries]: '2' }),
        source: new RegExp(`^${stream}/${subject}$`),
        where: new RegExp(`stream ${durable}_DEAD`),
        async close() {
          await consumer.close();
          for (const name of [stream, `${durable}_DEAD`]) await jsm.streams.delete(name).catch(() => undefined);
          await nc.close();
        },
      };
    },
  ],
  [
    'Redis Streams',
    async (inbox, handler) => {
      const url = await serviceUrl('redis');
      const redis = createClient({ url });
      await redis.connect();
      const stream = uniqueName('okt_dl:order');
      const consumer = createRedisInboxConsumer({
        connection: url,
        stream,
        consumer: consumerName(),
        db: inbox.db,
        dialect: inbox.dialect,
        maxDeliveries: 2,
        retryDelayMs: 10,
        blockMs: 50,
        handler,
      });
      return {
        flags: ['--queue', stream, '--broker-url', url],
        consumer,
        send: async (event) => void (await redis.xAdd(stream, '*', toStreamFields(event))),
        deadLetter: async (event) =>
          void (await redis.xAdd(`${stream}:dead`, '*', {
            ...toStreamFields(event),
            [DEAD_LETTER_HEADERS.source]: `${stream}/1-1`,
            [DEAD_LETTER_HEADERS.deliveries]: '2',
          })),
        source: new RegExp(`^${stream}/\\d+-\\d+$`),
        where: new RegExp(`stream ${stream}:dead`),
        async close() {
          await consumer.close();
          await redis.del([stream, `${stream}:dead`]);
          await redis.close();
        },
      };
    },
  ],
  [
    'Google Cloud Pub/Sub emulator',
    async (inbox, handler) => {
      const emulator = await startPubsubEmulator();
      const client = new PubSub(pubsubEmulatorOptions(emulator.url));
      const topic = uniqueName('okt_dl');
      // Forwarded by Pub/Sub itself only after 10 attempts: the consumer's own dead letter (after 2) comes first.
      const subscription = await emulator.createTopic(topic, `${topic}-sub`, { topic: `${topic}-dead`, maxDeliveryAttempts: 10 });
      await client.topic(`${topic}-dead`).createSubscription(`${topic}-dead-sub`);
      const consumer = createPubsubInboxConsumer({
        connection: pubsubBrokerUrl(emulator.url),
        subscription,
        consumer: consumerName(),
        db: inbox.db,
        dialect: inbox.dialect,
        maxDeliveries: 2,
        retryDelayMs: 10,
        handler,
      });
      const publish = async (to: string, event: StoredEvent, extra: Record<string, string> = {}): Promise<void> => {
        const { data, attributes } = toPubsubMessage(event);
        await client.topic(to, { messageOrdering: true }).publishMessage({ data, attributes: { ...attributes, ...extra }, orderingKey: orderingKey(event) });
      };
      return {
        flags: ['--queue', subscription, '--broker-url', pubsubBrokerUrl(emulator.url)],
        consumer,
        send: (event) => publish(topic, event),
        deadLetter: (event) => publish(`${topic}-dead`, event, { [DEAD_LETTER_HEADERS.source]: subscription, [DEAD_LETTER_HEADERS.deliveries]: '2' }),
        source: new RegExp(`^${subscription}$`),
        where: new RegExp(`subscription on the dead-letter topic of ${subscription}`),
        async close() {
          await consumer.close();
          await client.close();
          await emulator.dispose();
        },
      };
    },
  ],
];

describe.each(BEDS)('outbox-relay dead-letters (%s, SQLite inbox)', (_name, open) => {
  let database: TestDatabase;
  let inbox: InboxTestDb;
  let bed: DeadLetterBed;
  let broken = true;

  beforeAll(async () => {
    database = await createTestDatabase('SQLite');
    inbox = await openInboxDb('SQLite', database.url, database.schema);
    bed = await open(
      inbox,
      appliesUnless(
        () => inbox,
        () => broken,
      ),
    );
    await bed.consumer.ready();
  });

  afterAll(async () => {
    await bed?.close();
    await inbox?.close();
    await database?.dispose();
  });

  it('lists what the consumer gave up on without removing it, and sends it back; an applied event is dropped by the inbox', async () => {
    const failed = [storedEvent({ aggregateId: 'dx-1' }, 1), storedEvent({ aggregateId: 'dx-2' }, 1), storedEvent({ aggregateId: 'dx-3' }, 1)];
    for (const event of failed) await bed.send(event);
    await waitFor('three dead letters', () => bed.consumer.stats().deadLettered === 3, 60_000);

    for (let look = 0; look < 2; look++) {
      const listed = await runCli(['dead-letters', 'list', '--json', ...bed.flags]);
      expect(listed.code, listed.stderr).toBe(0);
      const letters = JSON.parse(listed.stdout) as ListedLetter[];
      expect(new Set(letters.map((letter) => letter.id))).toEqual(new Set(failed.map((event) => event.id)));
      for (const letter of letters) {
        expect(letter.sourceQueue).toMatch(bed.source);
        expect(letter.attempts).toBe(2);
        expect(letter.error).toMatch(/the payment provider is down/);
      }
    }

    // A copy of an event the consumer already applied also sits in the dead letters.
    broken = false;
    const applied = storedEvent({ aggregateId: 'dx-4' }, 1);
    await bed.send(applied);
    await waitFor('the applied event', async () => (await inbox.effectCount(applied.id)) === 1);
    await bed.deadLetter(applied);

    const before = bed.consumer.stats();
    const replay = await runCli(['dead-letters', 'replay', ...bed.flags]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/4 dead letter\(s\) redelivered, 0 kept/);
    await waitFor(
      'three applied and one duplicate',
      () => {
        const now = bed.consumer.stats();
        return now.processed - before.processed === 3 && now.duplicates - before.duplicates === 1;
      },
      60_000,
    );
    for (const event of [...failed, applied]) expect(await inbox.effectCount(event.id)).toBe(1);
    const after = await runCli(['dead-letters', 'list', ...bed.flags]);
    expect(after.stdout).toMatch(/^0 dead letter\(s\) in /m);
    expect(after.stdout).toMatch(bed.where);
  });

  it('replay --id sends only those; the rest stay for the next look', async () => {
    broken = true;
    const events = [storedEvent({ aggregateId: 'dx-5' }, 1), storedEvent({ aggregateId: 'dx-6' }, 1)];
    const deadBefore = bed.consumer.stats().deadLettered;
    for (const event of events) await bed.send(event);
    await waitFor('two more dead letters', () => bed.consumer.stats().deadLettered === deadBefore + 2, 60_000);
    broken = false;

    const replay = await runCli(['dead-letters', 'replay', '--id', events[0]!.id, ...bed.flags]);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stdout).toMatch(/1 dead letter\(s\) redelivered, 1 kept/);
    await waitFor('the selected one applied', async () => (await inbox.effectCount(events[0]!.id)) === 1, 60_000);
    const left = JSON.parse((await runCli(['dead-letters', 'list', '--json', ...bed.flags])).stdout) as ListedLetter[];
    expect(left.map((letter) => letter.id)).toEqual([events[1]!.id]);
    expect(await inbox.effectCount(events[1]!.id)).toBe(0);
  });
});
