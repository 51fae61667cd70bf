// The brokers a scenario can run against. Each opens a destination of its own (RabbitMQ exchange +
// queue, JetStream stream, Redis stream prefix, SQS FIFO queue, SNS FIFO topic + queue, Pub/Sub
// topic + subscription), and offers the same few operations, so the scenarios never branch on the
// broker's name.
import { pooled } from '../util.mjs';
import { openNatsBroker } from './nats.mjs';
import { openRabbitBroker } from './rabbitmq.mjs';
import { openRedisBroker } from './redis.mjs';

/**
 * @typedef {object} Broker
 * @property {'rabbitmq'|'nats'|'redis'|'sqs'|'sns'|'pubsub'} kind
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

export const BROKER_NAMES = Object.freeze({
  rabbitmq: 'RabbitMQ',
  nats: 'NATS JetStream',
  redis: 'Redis Streams',
  sqs: 'Amazon SQS FIFO',
  sns: 'Amazon SNS FIFO',
  pubsub: 'Google Pub/Sub',
});
export const BROKERS = Object.keys(BROKER_NAMES);

/**
 * The cloud brokers, which run here on a local emulator that the benchmark starts for them (and
 * stops afterwards) instead of on a server of the machine. Their figures measure the relay's
 * overhead relative to the official client on the same emulator, not AWS's or Google's speed.
 */
export const EMULATORS = Object.freeze({ sqs: 'fauxqs', sns: 'fauxqs', pubsub: 'Google Cloud Pub/Sub emulator' });

/** @returns {Promise<Broker>} */
export async function openBroker(kind, urls) {
  if (kind === 'rabbitmq') return openRabbitBroker(urls.rabbitmq);
  if (kind === 'nats') return openNatsBroker(urls.nats);
  if (kind === 'redis') return openRedisBroker(urls.redis);
  if (kind in EMULATORS && urls[kind] === undefined) throw new Error(`broker ${kind} needs its emulator: open it inside withBrokerServer()`);
  // Loaded on first use: the cloud SDKs are large, and most runs never touch them.
  if (kind === 'sqs' || kind === 'sns') return (await import('./aws.mjs')).openAwsBroker(kind, urls[kind]);
  if (kind === 'pubsub') return (await import('./pubsub.mjs')).openPubsubBroker(urls.pubsub);
  throw new Error(`unknown broker ${kind}; use ${BROKERS.join(', ')}`);
}

/**
 * Runs `fn(urls)` with what `openBroker(kind, urls)` needs: for an emulated broker (EMULATORS),
 * `urls[kind]` is a private emulator from @outboxkit/testkit, started for `fn` and disposed of
 * after it; for the others `urls` unchanged.
 */
export async function withBrokerServer(kind, urls, fn) {
  if (!(kind in EMULATORS)) return fn(urls);
  const { startFauxqs, startPubsubEmulator } = await import('@outboxkit/testkit');
  const server = kind === 'pubsub' ? await startPubsubEmulator() : await startFauxqs();
  try {
    return await fn({ ...urls, [kind]: server });
  } finally {
    await server.dispose();
  }
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
