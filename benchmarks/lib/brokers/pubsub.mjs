// Google Cloud Pub/Sub side of the broker scenario, on a private Pub/Sub emulator (see EMULATORS
// in index.mjs) the scenario started: a topic of its own with an ordered subscription, a
// streaming-pull consumer that counts distinct event ids, the relay's publisher for that topic and
// the official client baseline.
import { PubSub } from '@google-cloud/pubsub';
import { MESSAGE_HEADERS } from '@outboxkit/core';
import { createPubsubPublisher, defaultTopic, orderingKey, toPubsubMessage } from '@outboxkit/pubsub';
import { pubsubBrokerUrl, pubsubEmulatorOptions } from '@outboxkit/testkit';
import { uniqueName } from '../util.mjs';
import { idCounter } from './id-counter.mjs';

// Messages the streaming pull holds unacked at once (the ordered subscription delivers one
// aggregate's next event only after the previous one is acked).
const MAX_OUTSTANDING = 1000;

/**
 * @param {import('@outboxkit/testkit').PubsubEmulator} emulator  the emulator the scenario started
 * @returns {Promise<import('./index.mjs').Broker>}
 */
export async function openPubsubBroker(emulator, prefix = 'bench') {
  const topicPrefix = uniqueName(prefix);
  // Every benchmark event is an `order`: one topic, the one the publisher's default rule names.
  const topic = defaultTopic({ aggregateType: 'order', destination: null }, topicPrefix);
  const subscription = await emulator.createTopic(topic, `${topic}-sub`);
  const admin = new PubSub(pubsubEmulatorOptions(emulator.url));
  const consumers = new Set();

  return {
    kind: 'pubsub',
    async consume(onMessage) {
      const { counter, received } = idCounter(onMessage, () => stop());
      const client = new PubSub(pubsubEmulatorOptions(emulator.url));
      const stream = client.subscription(subscription, { flowControl: { maxMessages: MAX_OUTSTANDING } });
      stream.on('message', (message) => {
        received(message.attributes[MESSAGE_HEADERS.eventId], performance.now());
        message.ack();
      });
      // A failed stream fails the figure: the wait for its events times out, naming the count.
      stream.on('error', () => {});
      const stop = async () => {
        consumers.delete(stop);
        await stream.close().catch(() => {});
        await client.close();
      };
      consumers.add(stop);
      return counter;
    },
    publisher: (create = createPubsubPublisher) => create({ connection: pubsubBrokerUrl(emulator.url), topicPrefix }),
    async rawClient() {
      // A client of its own, as the relay's publisher has; the same data, attributes and ordering
      // key (the aggregate), and the publisher's batching (packages/pubsub/src/publisher.ts), so
      // the two differ by the relay, not by a client setting.
      const own = new PubSub(pubsubEmulatorOptions(emulator.url));
      const target = own.topic(topic, { messageOrdering: true, batching: { maxMessages: 100, maxMilliseconds: 1 } });
      return {
        send(event) {
          const { data, attributes } = toPubsubMessage(event);
          return target.publishMessage({ data, attributes, orderingKey: orderingKey(event) });
        },
        close: () => own.close(),
      };
    },
    async purge() {
      // Seeking a subscription to now acknowledges everything published before.
      await admin.subscription(subscription).seek(new Date());
    },
    async close() {
      for (const stop of [...consumers]) await stop();
      await admin
        .subscription(subscription)
        .delete()
        .catch(() => {});
      await admin
        .topic(topic)
        .delete()
        .catch(() => {});
      await admin.close();
    },
  };
}
