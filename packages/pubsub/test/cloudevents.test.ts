import * as sqlite from '@outboxkit/sqlite';
import type { InboxEvent, MessageFormat } from '@outboxkit/core';
import {
  CLOUDEVENTS_TEST_SOURCE,
  cloudEventTestEvent,
  createPubsubTopic,
  expectedBinaryModeHeaders,
  expectedStructuredCloudEvent,
  expectDedupedRoundTrip,
  pubsubBrokerUrl,
  pubsubEmulatorOptions,
  sqliteConformanceDatabase,
  startPubsubEmulator,
  uniqueName,
  type ConformanceDatabase,
  type PubsubEmulator,
} from '@outboxkit/testkit';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPubsubInboxConsumer, createPubsubPublisher, normalizePubsubPublisherOptions } from '../src/index.js';
import { firstMessage } from './messages.js';

/** CloudEvents through the Pub/Sub emulator: attributes per Google's Pub/Sub binding, and the inbox consumer's view. */
describe('CloudEvents on Pub/Sub', () => {
  let emulator: PubsubEmulator;
  let client: PubSub;
  let db: ConformanceDatabase;
  const closers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    emulator = await startPubsubEmulator();
    client = new PubSub(pubsubEmulatorOptions(emulator.url));
    db = await sqliteConformanceDatabase(sqlite);
  }, 60_000);

  afterAll(async () => {
    for (const closer of closers.reverse()) await closer.close();
    await client?.close();
    await db?.dispose();
    await emulator?.dispose();
  });

  /** A publisher in `format` whose default topic for the test events has the returned subscription. */
  async function publisherIn(
    format: MessageFormat,
  ): Promise<{ publish: (event: ReturnType<typeof cloudEventTestEvent>) => Promise<void>; subscription: string }> {
    const topicPrefix = uniqueName('okt_ce');
    const dead = `${topicPrefix}-dead`;
    const subscription = await createPubsubTopic(emulator.url, `${topicPrefix}-order`, `${topicPrefix}-sub`, { topic: dead, maxDeliveryAttempts: 10 });
    await client.topic(dead).createSubscription(`${dead}-sub`);
    const publisher = createPubsubPublisher({ connection: pubsubBrokerUrl(emulator.url), topicPrefix, format, cloudEventsSource: CLOUDEVENTS_TEST_SOURCE });
    closers.push(publisher);
    return { publish: (event) => publisher.publish(event), subscription };
  }

  const first = (subscription: string): Promise<Message> => firstMessage(client, subscription);

  it('binary mode: every attribute a ce- attribute, datacontenttype as content-type, the payload as data', async () => {
    const { publish, subscription } = await publisherIn('cloudevents-binary');
    const event = cloudEventTestEvent('o-bin', 4);
    await publish(event);
    const message = await first(subscription);
    expect(message.attributes).toEqual(expectedBinaryModeHeaders(event));
    expect(JSON.parse(message.data.toString('utf8'))).toEqual(event.payload);
  });

  it('structured mode: content-type application/cloudevents+json, the JSON CloudEvent as data', async () => {
    const { publish, subscription } = await publisherIn('cloudevents-structured');
    const event = cloudEventTestEvent('o-str', 2);
    await publish(event);
    const message = await first(subscription);
    expect(message.attributes).toEqual({ 'content-type': 'application/cloudevents+json', 'correlation-id': 'corr-7' });
    expect(JSON.parse(message.data.toString('utf8'))).toEqual(expectedStructuredCloudEvent(event));
  });

  it.each(['cloudevents-binary', 'cloudevents-structured'] as const)(
    '%s: publisher -> Pub/Sub -> inbox consumer gets the native event shape and dedupes a re-published CloudEvent by its id',
    async (format) => {
      const { publish, subscription } = await publisherIn(format);
      const one = cloudEventTestEvent(`o-${format}`, 1);
      const two = cloudEventTestEvent(`o-${format}`, 2);
      // Pub/Sub assigns its own message ids: the relay's re-publish is a second message.
      for (const event of [one, one, two]) await publish(event);

      const received: InboxEvent[] = [];
      const consumer = createPubsubInboxConsumer({
        connection: pubsubBrokerUrl(emulator.url),
        subscription,
        consumer: uniqueName('c'),
        db: db.database,
        dialect: db.dialect,
        handler: async (event) => {
          received.push(event);
        },
        retryDelayMs: 10,
      });
      closers.push(consumer);
      await consumer.ready();
      await expectDedupedRoundTrip(consumer, received, one, two);
    },
  );

  it('refuses an unknown format, naming the option and the formats', () => {
    expect(() => normalizePubsubPublisherOptions({ connection: 'pubsub://my-project', format: 'binary' as MessageFormat })).toThrow(
      /^format: "binary" is not a message format; use one of native, cloudevents-binary, cloudevents-structured/,
    );
  });
});
