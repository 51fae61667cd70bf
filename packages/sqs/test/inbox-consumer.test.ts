import * as sqlite from '@outboxkit/sqlite';
import { DEAD_LETTER_HEADERS, type InboxEvent } from '@outboxkit/core';
import {
  awsBrokerUrl,
  awsClientOptions,
  createSqsQueue,
  freePort,
  sqliteConformanceDatabase,
  startFauxqs,
  storedEvent,
  uniqueName,
  waitFor,
  type ConformanceDatabase,
  type FauxqsServer,
} from '@outboxkit/testkit';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateTopicCommand, PublishCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsInboxConsumer, toAwsMessage, type SqsInboxConsumer, type SqsInboxConsumerOptions } from '../src/index.js';

describe('SQS inbox consumer', () => {
  let fauxqs: FauxqsServer;
  let client: SQSClient;
  let db: ConformanceDatabase;
  const consumers: SqsInboxConsumer[] = [];

  beforeAll(async () => {
    fauxqs = await startFauxqs();
    client = new SQSClient(awsClientOptions(fauxqs.url));
    db = await sqliteConformanceDatabase(sqlite);
    await db.database.query('CREATE TABLE effects (event_id TEXT NOT NULL)');
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.close();
    client?.destroy();
    await db?.dispose();
    await fauxqs?.dispose();
  });

  /** A queue with a dead-letter queue as its redrive target (maxReceiveCount above the consumer's maxDeliveries). */
  async function newQueue(fifo = false): Promise<{ url: string; dead: string }> {
    const suffix = fifo ? '.fifo' : '';
    const name = uniqueName('okt_in');
    const dead = await createSqsQueue(fauxqs.url, `${name}-dead${suffix}`);
    const { url } = await createSqsQueue(fauxqs.url, `${name}${suffix}`, {
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dead.arn, maxReceiveCount: 100 }),
    });
    return { url, dead: dead.url };
  }

  /** Sends `event` as the relay would, but without a deduplication id, so every copy is stored. */
  async function sendRaw(url: string, event: ReturnType<typeof storedEvent>): Promise<void> {
    const { body, attributes } = toAwsMessage(event);
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: body, MessageAttributes: attributes }));
  }

  async function consume(queue: string, options: Partial<SqsInboxConsumerOptions> = {}): Promise<SqsInboxConsumer> {
    const consumer = createSqsInboxConsumer({
      connection: awsBrokerUrl(fauxqs.url),
      queue,
      consumer: uniqueName('c'),
      db: db.database,
      dialect: db.dialect,
      handler: async (event: InboxEvent, tx) => {
        await tx.query('INSERT INTO effects (event_id) VALUES (?)', [event.id]);
      },
      retryDelayMs: 10,
      waitTimeSeconds: 1,
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

  async function deadLetters(url: string): Promise<{ body: string; attributes: Record<string, string> }[]> {
    const reply = await client.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
    return (reply.Messages ?? []).map((m) => ({
      body: m.Body ?? '',
      attributes: Object.fromEntries(Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue ?? ''])),
    }));
  }

  it('ready() rejects with the reason while SQS is unreachable (no secret in it), and resolves once it is up', async () => {
    const closedPort = await freePort();
    const refused = createSqsInboxConsumer({
      connection: `sqs+http://okt:s3cretpw@127.0.0.1:${closedPort}`,
      queue: 'late',
      deadLetterQueue: 'late-dead',
      consumer: 'late_c',
      db: db.database,
      dialect: db.dialect,
      handler: async () => undefined,
    });
    consumers.push(refused);
    const error: Error & { code?: string } = await refused.ready().then(
      () => new Error('ready() resolved without an endpoint'),
      (rejection: unknown) => rejection as Error & { code?: string },
    );
    expect(error.code).toBe('OUTBOX_CONSUMER_SETUP');
    expect(error.message).toMatch(/inbox consumer "late_c" could not start on SQS: .*ECONNREFUSED.*the consumer keeps retrying/);
    expect(error.message).not.toContain('s3cretpw');

    // The queue appears later: the consumer retried by itself.
    const name = uniqueName('okt_late');
    const late = createSqsInboxConsumer({
      connection: awsBrokerUrl(fauxqs.url),
      queue: name,
      deadLetterQueue: `${name}-dead`,
      consumer: 'late_q',
      db: db.database,
      dialect: db.dialect,
      handler: async () => undefined,
    });
    consumers.push(late);
    await expect(late.ready()).rejects.toMatchObject({ code: 'OUTBOX_CONSUMER_SETUP', message: expect.stringMatching(/QueueDoesNotExist/) });
    await createSqsQueue(fauxqs.url, name);
    await createSqsQueue(fauxqs.url, `${name}-dead`);
    await waitFor(
      'ready() resolves after the queues exist',
      () =>
        late.ready().then(
          () => true,
          () => false,
        ),
      30_000,
    );
  });

  it('refuses a queue without a redrive policy when no deadLetterQueue is set, saying how to fix it', async () => {
    const { url } = await createSqsQueue(fauxqs.url, uniqueName('okt_nodlq'));
    const consumer = createSqsInboxConsumer({
      connection: awsBrokerUrl(fauxqs.url),
      queue: url,
      consumer: 'x',
      db: db.database,
      dialect: db.dialect,
      handler: async () => undefined,
    });
    consumers.push(consumer);
    await expect(consumer.ready()).rejects.toThrow(/has no redrive policy and deadLetterQueue is not set/);
  });

  it('applies an event stored twice once, counts the duplicate, and deletes both', async () => {
    const { url } = await newQueue();
    const repeated = storedEvent({ aggregateId: 'dup-1' });
    const other = storedEvent({ aggregateId: 'dup-2' });
    for (const event of [repeated, repeated, other]) await sendRaw(url, event);
    const consumer = await consume(url);
    await waitFor('three deliveries judged', () => consumer.stats().processed + consumer.stats().duplicates === 3);
    expect(consumer.stats()).toMatchObject({ processed: 2, duplicates: 1, failed: 0, deadLettered: 0 });
    expect(await effects(repeated.id)).toBe(1);
    expect(await effects(other.id)).toBe(1);
    await consumer.close();
    const left = await client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1 }));
    expect(left.Messages ?? []).toEqual([]);
  });

  it('keeps a slow handler its message: the visibility is extended, so SQS does not deliver it again meanwhile', async () => {
    const { url } = await newQueue();
    const slow = storedEvent({ aggregateId: 'slow' });
    let runs = 0;
    const consumer = await consume(url, {
      visibilityTimeoutSeconds: 2,
      handler: async (event, tx) => {
        runs++;
        await new Promise((resolve) => setTimeout(resolve, 5000));
        await tx.query('INSERT INTO effects (event_id) VALUES (?)', [event.id]);
      },
    });
    await sendRaw(url, slow);
    await waitFor('the slow event processed', () => consumer.stats().processed === 1, 30_000);
    expect(runs).toBe(1);
    expect(consumer.stats()).toMatchObject({ processed: 1, duplicates: 0 });
  }, 60_000);

  it('redelivers a failing event until maxDeliveries, then dead-letters it (the redrive target) with the error', async () => {
    const { url, dead } = await newQueue();
    const poison = storedEvent({ aggregateId: 'poison', headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } });
    let runs = 0;
    const consumer = await consume(url, {
      maxDeliveries: 3,
      handler: async () => {
        runs++;
        throw new Error('handler refuses');
      },
    });
    await sendRaw(url, poison);
    await waitFor('the dead letter', () => consumer.stats().deadLettered === 1, 30_000);
    expect(runs).toBe(3);
    expect(consumer.stats()).toMatchObject({ failed: 3, deadLettered: 1, processed: 0 });
    const [letter, ...more] = await deadLetters(dead);
    expect(more).toEqual([]);
    expect(letter!.attributes[DEAD_LETTER_HEADERS.error]).toMatch(/handler refuses/);
    expect(letter!.attributes[DEAD_LETTER_HEADERS.deliveries]).toBe('3');
    expect(letter!.attributes['x-outbox-event-id']).toBe(poison.id);
    // 6 outboxkit attributes and 4 dead-letter ones fill SQS's 10: the event's own header is what goes.
    expect(Object.keys(letter!.attributes)).toHaveLength(10);
    expect(JSON.parse(letter!.body)).toEqual(poison.payload);
  }, 60_000);

  it('dead-letters a message that is not an outbox event at once', async () => {
    const { url, dead } = await newQueue();
    const consumer = await consume(url);
    await client.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'not json' }));
    await waitFor('the dead letter', () => consumer.stats().deadLettered === 1);
    const [letter] = await deadLetters(dead);
    expect(letter!.attributes[DEAD_LETTER_HEADERS.error]).toMatch(/undecodable message: .*x-outbox-event-id/);
    expect(letter!.attributes[DEAD_LETTER_HEADERS.deliveries]).toBe('1');
    expect(letter!.body).toBe('not json');
  });

  it('reads events SNS delivered as notifications (no raw message delivery), in order per aggregate on FIFO', async () => {
    const { url } = await newQueue(true);
    const sns = new SNSClient(awsClientOptions(fauxqs.url));
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: `${uniqueName('okt_t')}.fifo`, Attributes: { FifoTopic: 'true' } }));
    const queueArn = `arn:aws:sqs:us-east-1:000000000000:${url.split('/').at(-1)}`;
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: queueArn }));
    const events = [1, 2, 3].map((n) => storedEvent({ aggregateId: 'via-sns', payload: { n } }, n));
    for (const event of events) {
      const { body, attributes } = toAwsMessage(event);
      await sns.send(
        new PublishCommand({ TopicArn, Message: body, MessageAttributes: attributes, MessageGroupId: 'order:via-sns', MessageDeduplicationId: event.id }),
      );
    }
    sns.destroy();
    const applied: number[] = [];
    const consumer = await consume(url, {
      handler: async (event) => {
        applied.push(event.sequence);
      },
    });
    await waitFor('three events from SNS', () => consumer.stats().processed === 3);
    expect(applied).toEqual([1, 2, 3]);
  });
});
