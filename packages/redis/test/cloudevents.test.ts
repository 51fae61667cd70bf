import * as sqlite from '@outboxkit/sqlite';
import { normalizeMessageFormat, type InboxEvent, type MessageFormat } from '@outboxkit/core';
import {
  CLOUDEVENTS_TEST_SOURCE,
  cloudEventTestEvent,
  expectedBinaryModeHeaders,
  expectedStructuredCloudEvent,
  expectDedupedRoundTrip,
  serviceUrl,
  sqliteConformanceDatabase,
  uniqueName,
  type ConformanceDatabase,
} from '@outboxkit/testkit';
import { createClient } from 'redis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisInboxConsumer, createRedisPublisher, normalizeRedisPublisherOptions, PAYLOAD_FIELD, toStreamFields } from '../src/index.js';

/** CloudEvents through the real Redis: the stream entry the publisher writes, and the inbox consumer's view of it. */
describe('CloudEvents on Redis Streams', () => {
  let url: string;
  let client: ReturnType<typeof createClient>;
  let db: ConformanceDatabase;
  const keys: string[] = [];
  const closers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    url = await serviceUrl('redis');
    client = createClient({ url });
    await client.connect();
    db = await sqliteConformanceDatabase(sqlite);
  });

  afterAll(async () => {
    for (const closer of closers.reverse()) await closer.close();
    if (keys.length > 0) await client?.del(keys);
    client?.destroy();
    await db?.dispose();
  });

  /** A publisher in `format` whose default stream for the test events is the returned key. */
  function publisherIn(format: MessageFormat): { publish: (event: ReturnType<typeof cloudEventTestEvent>) => Promise<void>; stream: string } {
    const streamPrefix = uniqueName('okt_ce');
    const stream = `${streamPrefix}:order`;
    keys.push(stream, `${stream}:dead`);
    const publisher = createRedisPublisher({ connection: url, streamPrefix, format, cloudEventsSource: CLOUDEVENTS_TEST_SOURCE });
    closers.push(publisher);
    return { publish: (event) => publisher.publish(event), stream };
  }

  async function entries(stream: string): Promise<Record<string, string>[]> {
    const range = (await client.xRange(stream, '-', '+')) ?? [];
    return range.map((entry) => ({ ...entry?.message }) as Record<string, string>);
  }

  it('binary mode: every attribute a ce- field, the payload JSON in the payload field', async () => {
    const { publish, stream } = publisherIn('cloudevents-binary');
    const event = cloudEventTestEvent('o-bin', 4);
    await publish(event);
    expect(await entries(stream)).toEqual([{ ...expectedBinaryModeHeaders(event), [PAYLOAD_FIELD]: JSON.stringify(event.payload) }]);
  });

  it('structured mode: content-type application/cloudevents+json, the JSON CloudEvent in the payload field', async () => {
    const { publish, stream } = publisherIn('cloudevents-structured');
    const event = cloudEventTestEvent('o-str', 2);
    await publish(event);
    const [entry] = await entries(stream);
    expect(entry).toEqual({ 'content-type': 'application/cloudevents+json', 'correlation-id': 'corr-7', [PAYLOAD_FIELD]: expect.any(String) });
    expect(JSON.parse(entry![PAYLOAD_FIELD]!)).toEqual(expectedStructuredCloudEvent(event));
  });

  it.each(['cloudevents-binary', 'cloudevents-structured'] as const)(
    '%s: publisher -> Redis -> inbox consumer gets the native event shape and dedupes a re-published CloudEvent by its id',
    async (format) => {
      const { publish, stream } = publisherIn(format);
      const first = cloudEventTestEvent(`o-${format}`, 1);
      const second = cloudEventTestEvent(`o-${format}`, 2);
      // XADD has no dedupe: the relay's re-publish after a crash is a second entry.
      for (const event of [first, first, second]) await publish(event);

      const received: InboxEvent[] = [];
      const consumer = createRedisInboxConsumer({
        connection: url,
        stream,
        consumer: `c_${stream}`,
        db: db.database,
        dialect: db.dialect,
        handler: async (event) => {
          received.push(event);
        },
        retryDelayMs: 10,
        blockMs: 50,
      });
      closers.push(consumer);
      await consumer.ready();
      await expectDedupedRoundTrip(consumer, received, first, second);
    },
  );

  it('toStreamFields writes the fields the publisher writes', () => {
    const event = cloudEventTestEvent('o-same', 1);
    const format = normalizeMessageFormat({ format: 'cloudevents-binary', cloudEventsSource: CLOUDEVENTS_TEST_SOURCE });
    expect(toStreamFields(event, {}, format)).toEqual({ ...expectedBinaryModeHeaders(event), [PAYLOAD_FIELD]: JSON.stringify(event.payload) });
  });

  it('refuses a source that is not a URI-reference, naming the option', () => {
    expect(() => normalizeRedisPublisherOptions({ connection: url, format: 'cloudevents-structured', cloudEventsSource: 'shop events' })).toThrow(
      /^cloudEventsSource: "shop events" is not a URI-reference/,
    );
  });
});
