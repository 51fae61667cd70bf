import * as sqlite from '@outboxkit/sqlite';
import { normalizeMessageFormat, OutboxConfigError, type InboxEvent, type MessageFormat } from '@outboxkit/core';
import {
  CLOUDEVENTS_TEST_SOURCE as SOURCE,
  cloudEventTestEvent as eventOf,
  expectedBinaryModeHeaders,
  expectedStructuredCloudEvent,
  expectDedupedRoundTrip,
  serviceUrl,
  sqliteConformanceDatabase,
  type ConformanceDatabase,
} from '@outboxkit/testkit';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsInboxConsumer, createNatsPublisher, normalizeNatsPublisherOptions, toNatsMessage, type NatsPublisher } from '../src/index.js';
import { readHeaders, toMsgHdrs } from '../src/wire-format.js';
import { addTestStream } from './streams.js';

/** CloudEvents through the real JetStream: the publisher's message as stored, and the inbox consumer's view of it. */
describe('CloudEvents on NATS', () => {
  let url: string;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let db: ConformanceDatabase;
  const streams: string[] = [];
  const closers: { close(): Promise<void> }[] = [];

  beforeAll(async () => {
    url = await serviceUrl('nats');
    nc = await connect({ servers: url.replace(/^nats:\/\//, '') });
    jsm = await jetstreamManager(nc);
    db = await sqliteConformanceDatabase(sqlite);
  });

  afterAll(async () => {
    for (const closer of closers.reverse()) await closer.close();
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
    await nc?.close();
    await db?.dispose();
  });

  const newStream = () => addTestStream(jsm, streams, 'okt_ce');

  function publisherIn(format: MessageFormat, stream: string, prefix: string): NatsPublisher {
    const publisher = createNatsPublisher({ connection: url, stream, subjectPrefix: prefix, declareStream: false, format, cloudEventsSource: SOURCE });
    closers.push(publisher);
    return publisher;
  }

  it('binary mode: every attribute a ce- header, datacontenttype as content-type, the payload as the data', async () => {
    const { stream, prefix } = await newStream();
    const event = eventOf('o-bin', 5);
    await publisherIn('cloudevents-binary', stream, prefix).publish(event);
    const stored = await jsm.streams.getMessage(stream, { seq: 1 });
    expect(readHeaders(stored?.header)).toEqual({ 'Nats-Msg-Id': event.id, ...expectedBinaryModeHeaders(event) });
    expect(stored?.json()).toEqual({ orderId: 'o-bin' });
  });

  it('structured mode: the JSON CloudEvent as the data, content-type application/cloudevents+json', async () => {
    const { stream, prefix } = await newStream();
    const event = eventOf('o-str', 1);
    await publisherIn('cloudevents-structured', stream, prefix).publish(event);
    const stored = await jsm.streams.getMessage(stream, { seq: 1 });
    expect(readHeaders(stored?.header)).toEqual({ 'Nats-Msg-Id': event.id, 'content-type': 'application/cloudevents+json', 'correlation-id': 'corr-7' });
    expect(stored?.json()).toEqual(expectedStructuredCloudEvent(event));
  });

  it.each(['cloudevents-binary', 'cloudevents-structured'] as const)(
    '%s: publisher -> JetStream -> inbox consumer gets the native event shape and dedupes a stored-twice CloudEvent by its id',
    async (format) => {
      const { stream, prefix } = await newStream();
      const first = eventOf(`o-${format}`, 1);
      const second = eventOf(`o-${format}`, 2);
      const publisher = publisherIn(format, stream, prefix);
      await publisher.publish(first);
      // A copy JetStream's own dedupe did not catch (published after its duplicate window).
      const copy = toNatsMessage(first, {}, normalizeMessageFormat({ format, cloudEventsSource: SOURCE }));
      await jetstream(nc).publish(`${prefix}.order.placed`, copy.data, { headers: toMsgHdrs(copy.headers) });
      await publisher.publish(second);

      const received: InboxEvent[] = [];
      const consumer = createNatsInboxConsumer({
        connection: url,
        stream,
        consumer: `${stream}_C`,
        db: db.database,
        dialect: db.dialect,
        handler: async (event) => {
          received.push(event);
        },
        retryDelayMs: 10,
      });
      closers.push(consumer);
      await consumer.ready();
      await expectDedupedRoundTrip(consumer, received, first, second);
    },
  );

  it('refuses a CloudEvents format without a source, naming the option', () => {
    expect(() => normalizeNatsPublisherOptions({ connection: url, format: 'cloudevents-binary' })).toThrow(OutboxConfigError);
    expect(() => normalizeNatsPublisherOptions({ connection: url, format: 'cloudevents-binary' })).toThrow(/^cloudEventsSource: is required/);
  });
});
