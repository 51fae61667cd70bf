// RabbitMQ side of every scenario: an exchange and a durable queue of its own, a consumer that
// counts distinct event ids, the relay's publisher for that exchange and the raw client baseline.
import { Connection } from 'rabbitmq-client';
import { createRabbitPublisher, defaultRoute, toAmqpMessage } from '@outboxkit/rabbitmq';
import { uniqueName } from '../util.mjs';
import { idCounter } from './id-counter.mjs';

const PREFETCH = 512;

/**
 * The raw client baseline on a connection of its own, as the relay's publisher has, with the same
 * wire settings: confirms, and the message toAmqpMessage builds (persistent, mandatory, the same
 * properties and headers), routed as the publisher's default rule routes it.
 */
export async function rabbitRawClient(url, exchange) {
  const own = new Connection({ url, connectionName: `${exchange}-raw` });
  own.on('error', () => {});
  const publisher = own.createPublisher({ confirm: true, maxAttempts: 1 });
  return {
    send(event) {
      const { properties, body } = toAmqpMessage(event);
      return publisher.send({ ...properties, ...defaultRoute(event, exchange) }, body);
    },
    async close() {
      await publisher.close();
      await own.close();
    },
  };
}

/**
 * Declares a durable topic exchange and a durable queue bound to everything on it. With
 * `existing` (the name of an exchange and queue another process declared, e.g. for the peer's
 * child process) it only attaches: nothing is declared, and `close()` deletes nothing.
 */
export async function openRabbitBroker(url, prefix = 'bench', { existing } = {}) {
  const name = existing ?? uniqueName(prefix);
  const owned = existing === undefined;
  const connection = new Connection({ url, connectionName: owned ? name : `${name}-attached-${process.pid}` });
  connection.on('error', () => {});
  if (owned) {
    await connection.exchangeDeclare({ exchange: name, type: 'topic', durable: true });
    await connection.queueDeclare({ queue: name, durable: true });
    await connection.queueBind({ queue: name, exchange: name, routingKey: '#' });
  }
  const consumers = new Set();

  /** @type {import('./index.mjs').Broker & { exchange: string, queue: string, connection: Connection }} */
  const broker = {
    kind: 'rabbitmq',
    exchange: name,
    queue: name,
    connection,
    async consume(onMessage) {
      const { counter, received } = idCounter(onMessage, () => consumer.close());
      const consumer = connection.createConsumer(
        { queue: name, qos: { prefetchCount: PREFETCH }, concurrency: 1, queueOptions: { passive: true } },
        (message) => {
          received(message.messageId, performance.now());
        },
      );
      consumer.on('error', () => {});
      await new Promise((resolve, reject) => {
        consumer.once('ready', resolve);
        consumer.once('error', reject);
      });
      consumers.add(consumer);
      return counter;
    },
    publisher: (create = createRabbitPublisher) => create({ connection: url, exchange: name, declareExchange: false }),
    rawClient: () => rabbitRawClient(url, name),
    /** What a relay process needs to publish to this destination (see lib/relay-child.mjs). */
    childConfig: () => ({ kind: 'rabbitmq', url, exchange: name }),
    async purge() {
      await connection.queuePurge({ queue: name });
    },
    async close() {
      for (const consumer of consumers) await consumer.close().catch(() => {});
      if (owned) {
        await connection.queueDelete({ queue: name }).catch(() => {});
        await connection.exchangeDelete({ exchange: name }).catch(() => {});
      }
      await connection.close();
    },
  };
  return broker;
}
