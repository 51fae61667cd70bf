import * as sqlite from '@outboxkit/sqlite';
import { DEAD_LETTER_HEADERS, type InboxEvent } from '@outboxkit/core';
import {
  createPubsubTopic,
  freePort,
  PUBSUB_TEST_PROJECT,
  pubsubBrokerUrl,
  pubsubEmulatorOptions,
  sqliteConformanceDatabase,
  startPubsubEmulator,
  storedEvent,
  uniqueName,
  waitFor,
  type ConformanceDatabase,
  type PubsubEmulator,
} from '@outboxkit/testkit';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPubsubInboxConsumer, toPubsubMessage, type PubsubInboxConsumer, type PubsubInboxConsumerOptions } from '../src/index.js';
import { firstMessage } from './messages.js';

describe('Pub/Sub inbox consumer', () => {
  let emulator: PubsubEmulator;
  let client: PubSub;
  let db: ConformanceDatabase;
  const consumers: PubsubInboxConsumer[] = [];

  beforeAll(async () => {
    emulator = await startPubsubEmulator();
    client = new PubSub(pubsubEmulatorOptions(emulator.url));
    db = await sqliteConformanceDatabase(sqlite);
    await db.database.query('CREATE TABLE effects (event_id TEXT NOT NULL)');
  }, 60_000);

  afterAll(async () => {
    for (const consumer of consumers) await consumer.close();
    await client?.close();
    await db?.dispose();
    await emulator?.dispose();
  });

  /** A topic, its dead-letter topic and an ordered subscription forwarding there after 10 attempts (above the consumer's maxDeliveries). */
  async function newTopic(): Promise<{ topic: string; subscription: string; dead: string }> {
    const topic = uniqueName('okt_in');
    const dead = `${topic}-dead`;
    const subscription = await createPubsubTopic(emulator.url, topic, `${topic}-sub`, { topic: dead, maxDeliveryAttempts: 10 });
    await client.topic(dead).createSubscription(`${dead}-sub`);
    return { topic, subscription, dead: `${dead}-sub` };
  }

  async function publishRaw(topic: string, event: ReturnType<typeof storedEvent>): Promise<void> {
    const { data, attributes } = toPubsubMessage(event);
    await client.topic(topic, { messageOrdering: true }).publishMessage({ data, attributes, orderingKey: `${event.aggregateType}:${event.aggregateId}` });
  }

  async function consume(subscription: string, options: Partial<PubsubInboxConsumerOptions> = {}): Promise<PubsubInboxConsumer> {
    const consumer = createPubsubInboxConsumer({
      connection: pubsubBrokerUrl(emulator.url),
      subscription,
      consumer: uniqueName('c'),
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

  const first = (subscription: string): Promise<Message> => firstMessage(client, subscription);

  it('ready() rejects with the reason while Pub/Sub is unreachable or the subscription is missing, and resolves once it exists', async () => {
    const closedPort = await freePort();
    const common = { consumer: 'late_c', db: db.database, dialect: db.dialect, handler: async () => undefined };
    const refused = createPubsubInboxConsumer({
      ...common,
      connection: `pubsub+http://127.0.0.1:${closedPort}/${PUBSUB_TEST_PROJECT}`,
      subscription: 'late-sub',
    });
    consumers.push(refused);
    await expect(refused.ready()).rejects.toMatchObject({ code: 'OUTBOX_CONSUMER_SETUP', message: expect.stringMatching(/could not start on Pub\/Sub/) });
    await refused.close();

    const name = uniqueName('okt_late');
    const late = createPubsubInboxConsumer({ ...common, connection: pubsubBrokerUrl(emulator.url), subscription: `${name}-sub` });
    consumers.push(late);
    await expect(late.ready()).rejects.toMatchObject({ code: 'OUTBOX_CONSUMER_SETUP', message: expect.stringMatching(/NOT_FOUND/) });
    await createPubsubTopic(emulator.url, name, `${name}-sub`, { topic: `${name}-dead`, maxDeliveryAttempts: 10 });
    await waitFor(
      'ready() resolves after the subscription exists',
      () =>
        late.ready().then(
          () => true,
          () => false,
        ),
      30_000,
    );
  }, 60_000);

  it('applies an event delivered twice once and counts the duplicate', async () => {
    const { topic, subscription } = await newTopic();
    const repeated = storedEvent({ aggregateId: 'dup-1' });
    const other = storedEvent({ aggregateId: 'dup-2' });
    for (const event of [repeated, repeated, other]) await publishRaw(topic, event);
    const consumer = await consume(subscription);
    await waitFor('three deliveries judged', () => consumer.stats().processed + consumer.stats().duplicates === 3);
    expect(consumer.stats()).toMatchObject({ processed: 2, duplicates: 1, failed: 0, deadLettered: 0 });
    expect(await effects(repeated.id)).toBe(1);
    expect(await effects(other.id)).toBe(1);
  });

  // Pub/Sub delivers a key's messages in order but does not wait for an ack before the next: a failed
  // event is redelivered after later ones. The inbox's ordering guard holds those back.
  it('keeps an aggregate in order with the ordering guard when a failed event comes back after later ones', async () => {
    const { topic, subscription } = await newTopic();
    const events = [1, 2, 3].map((n) => storedEvent({ aggregateId: 'ordered', payload: { n } }, n));
    for (const event of events) await publishRaw(topic, event);
    const applied: number[] = [];
    let failures = 0;
    const consumer = await consume(subscription, {
      ordering: true,
      maxDeliveries: 10,
      handler: async (event) => {
        if (event.sequence === 2 && failures < 2) {
          failures++;
          throw new Error('not yet');
        }
        applied.push(event.sequence);
      },
    });
    await waitFor('three events applied', () => consumer.stats().processed === 3, 30_000);
    expect(failures).toBe(2);
    expect(applied).toEqual([1, 2, 3]);
  }, 60_000);

  it('redelivers a failing event until maxDeliveries, then publishes it to the dead-letter topic with the error', async () => {
    const { topic, subscription, dead } = await newTopic();
    const poison = storedEvent({ aggregateId: 'poison' });
    let runs = 0;
    const consumer = await consume(subscription, {
      maxDeliveries: 3,
      handler: async () => {
        runs++;
        throw new Error('handler refuses');
      },
    });
    await publishRaw(topic, poison);
    await waitFor('the dead letter', () => consumer.stats().deadLettered === 1, 30_000);
    expect(runs).toBe(3);
    expect(consumer.stats()).toMatchObject({ failed: 3, deadLettered: 1, processed: 0 });
    const letter = await first(dead);
    expect(letter.attributes[DEAD_LETTER_HEADERS.error]).toMatch(/handler refuses/);
    expect(letter.attributes[DEAD_LETTER_HEADERS.deliveries]).toBe('3');
    expect(letter.attributes['x-outbox-event-id']).toBe(poison.id);
    expect(JSON.parse(letter.data.toString())).toEqual(poison.payload);
  }, 60_000);

  it('dead-letters a message that is not an outbox event at once', async () => {
    const { topic, subscription, dead } = await newTopic();
    const consumer = await consume(subscription);
    await client.topic(topic).publishMessage({ data: Buffer.from('not json') });
    await waitFor('the dead letter', () => consumer.stats().deadLettered === 1);
    const letter = await first(dead);
    expect(letter.attributes[DEAD_LETTER_HEADERS.error]).toMatch(/undecodable message: .*x-outbox-event-id/);
    expect(letter.data.toString()).toBe('not json');
  });
});
