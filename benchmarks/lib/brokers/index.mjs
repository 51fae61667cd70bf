// The brokers a scenario can run against. Each opens a destination of its own (RabbitMQ exchange +
// queue, JetStream stream, Redis stream prefix), and offers the same few operations, so the
// scenarios never branch on the broker's name.
import { pooled } from '../util.mjs';
import { openNatsBroker } from './nats.mjs';
import { openRabbitBroker } from './rabbitmq.mjs';
import { openRedisBroker } from './redis.mjs';

/**
 * @typedef {object} Broker
 * @property {'rabbitmq'|'nats'|'redis'} kind
 * @property {(onMessage?: (id: string, at: number) => void) => Promise<import('./id-counter.mjs').Counter>} consume
 *   a consumer of this destination (from now on) that counts distinct event ids
 * @property {(create?: Function) => import("@outboxkit/core").Publisher} publisher  the outboxkit publisher for this destination (`create`: another build's factory, for before/after runs)
 * @property {() => Promise<{ send(event: import('@outboxkit/core').StoredEvent): Promise<unknown>, close(): Promise<void> }>} rawClient
 *   the broker's own client on a connection of its own, sending the message the publisher would send, awaiting the broker's acknowledgement
 * @property {() => Promise<void>} purge
 * @property {() => Promise<void>} close  stops the consumers and deletes the destination
 */

/** Publishes awaiting an acknowledgement at once: the relay's default `maxInFlight`, used for the raw baseline too. */
export const IN_FLIGHT = 128;

export const BROKER_NAMES = Object.freeze({ rabbitmq: 'RabbitMQ', nats: 'NATS JetStream', redis: 'Redis Streams' });
export const BROKERS = Object.keys(BROKER_NAMES);

/** @returns {Promise<Broker>} */
export function openBroker(kind, urls) {
  if (kind === 'rabbitmq') return openRabbitBroker(urls.rabbitmq);
  if (kind === 'nats') return openNatsBroker(urls.nats);
  if (kind === 'redis') return openRedisBroker(urls.redis);
  throw new Error(`unknown broker ${kind}; use ${BROKERS.join(', ')}`);
}

/** The raw baseline of a drain: `events` sent with the broker's own client, IN_FLIGHT awaiting an acknowledgement at once. */
export async function publishRaw(broker, events) {
  const client = await broker.rawClient();
  try {
    await pooled(events.length, IN_FLIGHT, (i) => client.send(events[i]));
  } finally {
    await client.close();
  }
}
