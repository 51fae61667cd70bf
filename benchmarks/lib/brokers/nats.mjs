// NATS JetStream side of the broker scenario: a file-storage stream and subject prefix of its
// own, a durable consumer (explicit acks, new messages only) that counts distinct event ids, the
// relay's publisher for that stream and the raw client baseline.
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { MESSAGE_HEADERS } from '@outboxkit/core';
import { createNatsPublisher, defaultSubject, toNatsMessage } from '@outboxkit/nats';
import { uniqueName } from '../util.mjs';
import { idCounter } from './id-counter.mjs';

const MAX_MESSAGES = 512;

const servers = (url) => url.replace(/^nats:\/\//, '');

export async function openNatsBroker(url, prefix = 'bench') {
  const subjectPrefix = uniqueName(prefix);
  const stream = subjectPrefix.toUpperCase();
  const nc = await connect({ servers: servers(url), name: `${subjectPrefix}-bench` });
  const jsm = await jetstreamManager(nc);
  await jsm.streams.add({ name: stream, subjects: [`${subjectPrefix}.>`], storage: StorageType.File });
  const consumers = new Set();

  /** @type {import('./index.mjs').Broker} */
  const broker = {
    kind: 'nats',
    async consume(onMessage) {
      const { counter, received } = idCounter(onMessage, () => stop());
      const durable = uniqueName('count');
      // New messages only: the stream keeps what earlier measurements published.
      await jsm.consumers.add(stream, { durable_name: durable, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.New });
      const messages = await (await jetstream(nc).consumers.get(stream, durable)).consume({ max_messages: MAX_MESSAGES });
      const done = (async () => {
        for await (const message of messages) {
          received(message.headers?.get(MESSAGE_HEADERS.eventId) || undefined, performance.now());
          message.ack();
        }
      })();
      const stop = async () => {
        consumers.delete(stop);
        await messages.close();
        await done.catch(() => {});
        await jsm.consumers.delete(stream, durable).catch(() => {});
      };
      consumers.add(stop);
      return counter;
    },
    publisher: (create = createNatsPublisher) => create({ connection: url, subjectPrefix, stream }),
    async rawClient() {
      // A connection of its own, as the relay's publisher has; the same subject, payload,
      // headers and Nats-Msg-Id, each publish awaited until its PubAck.
      const own = await connect({ servers: servers(url), name: `${subjectPrefix}-raw` });
      const js = jetstream(own);
      return {
        send(event) {
          const { data, headers } = toNatsMessage(event);
          const h = natsHeaders();
          for (const name in headers) h.set(name, headers[name]);
          return js.publish(defaultSubject(event, subjectPrefix), data, { msgID: event.id, headers: h });
        },
        close: () => own.close(),
      };
    },
    purge: () => jsm.streams.purge(stream).then(() => undefined),
    async close() {
      for (const stop of [...consumers]) await stop();
      await jsm.streams.delete(stream).catch(() => {});
      await nc.close();
    },
  };
  return broker;
}
