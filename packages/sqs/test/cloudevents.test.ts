import * as sqlite from '@outboxkit/sqlite';
import { OutboxConfigError, type InboxEvent } from '@outboxkit/core';
import {
  awsBrokerUrl,
  awsClientOptions,
  CLOUDEVENTS_TEST_SOURCE,
  cloudEventTestEvent,
  createSqsQueue,
  expectedStructuredCloudEvent,
  expectDedupedRoundTrip,
  sqliteConformanceDatabase,
  startFauxqs,
  uniqueName,
  type ConformanceDatabase,
  type FauxqsServer,
} from '@outboxkit/testkit';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqsInboxConsumer, createSqsPublisher, normalizeSnsPublisherOptions, normalizeSqsPublisherOptions } from '../src/index.js';

/** Structured-mode CloudEvents through the SQS emulator (binary mode does not fit SQS's 10 attributes). */
describe('CloudEvents on SQS', () => {
  let fauxqs: FauxqsServer;
  let client: SQSClient;
  let db: ConformanceDatabase;
  const closers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    fauxqs = await startFauxqs();
    client = new SQSClient(awsClientOptions(fauxqs.url));
    db = await sqliteConformanceDatabase(sqlite);
  });

  afterAll(async () => {
    for (const closer of closers.reverse()) await closer.close();
    client?.destroy();
    await db?.dispose();
    await fauxqs?.dispose();
  });

  /** A standard queue (no deduplication: every publish is stored) with its dead-letter queue, and a structured-mode publisher to it. */
  async function queueAndPublisher(): Promise<{ url: string; name: string; publish: (event: ReturnType<typeof cloudEventTestEvent>) => Promise<void> }> {
    const name = uniqueName('okt_ce');
    const dead = await createSqsQueue(fauxqs.url, `${name}-dead`);
    const { url } = await createSqsQueue(fauxqs.url, name, { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dead.arn, maxReceiveCount: 100 }) });
    const publisher = createSqsPublisher({
      connection: awsBrokerUrl(fauxqs.url),
      route: () => name,
      format: 'cloudevents-structured',
      cloudEventsSource: CLOUDEVENTS_TEST_SOURCE,
    });
    closers.push(publisher);
    return { url, name, publish: (event) => publisher.publish(event) };
  }

  it('structured mode: a content-type attribute and the JSON CloudEvent as the body', async () => {
    const { url, publish } = await queueAndPublisher();
    const event = cloudEventTestEvent('o-str', 3);
    await publish(event);
    const reply = await client.send(new ReceiveMessageCommand({ QueueUrl: url, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }));
    const [message] = reply.Messages ?? [];
    expect(Object.fromEntries(Object.entries(message?.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]))).toEqual({
      'content-type': 'application/cloudevents+json',
      'correlation-id': 'corr-7',
    });
    expect(JSON.parse(message?.Body ?? '')).toEqual(expectedStructuredCloudEvent(event));
  });

  it('publisher -> SQS -> inbox consumer gets the native event shape and dedupes a re-published CloudEvent by its id', async () => {
    const { name, publish } = await queueAndPublisher();
    const one = cloudEventTestEvent('o-rt', 1);
    const two = cloudEventTestEvent('o-rt', 2);
    for (const event of [one, one, two]) await publish(event);

    const received: InboxEvent[] = [];
    const consumer = createSqsInboxConsumer({
      connection: awsBrokerUrl(fauxqs.url),
      queue: name,
      consumer: uniqueName('c'),
      db: db.database,
      dialect: db.dialect,
      handler: async (event) => {
        received.push(event);
      },
      retryDelayMs: 10,
      waitTimeSeconds: 1,
    });
    closers.push(consumer);
    await consumer.ready();
    await expectDedupedRoundTrip(consumer, received, one, two);
  });

  it.each([
    ['SQS', () => normalizeSqsPublisherOptions({ connection: 'sqs://eu-west-1', format: 'cloudevents-binary', cloudEventsSource: CLOUDEVENTS_TEST_SOURCE })],
    [
      'SNS',
      () =>
        normalizeSnsPublisherOptions({ connection: 'sns://eu-west-1/123456789012', format: 'cloudevents-binary', cloudEventsSource: CLOUDEVENTS_TEST_SOURCE }),
    ],
  ])('%s refuses binary mode, naming the option and the way out', (_service, normalize) => {
    expect(normalize).toThrow(OutboxConfigError);
    expect(normalize).toThrow(/^format: cloudevents-binary is not available on SQS\/SNS: .* use cloudevents-structured/);
  });
});
