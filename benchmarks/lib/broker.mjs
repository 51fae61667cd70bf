// RabbitMQ side of every scenario: an exchange and a durable queue of its own, a consumer that
// counts distinct event ids (consumers dedupe by id), and the raw-publisher baseline.
import { Connection } from 'rabbitmq-client';
import { uniqueName } from './util.mjs';

const PREFETCH = 512;
/** Publishes awaiting a confirm at once: the relay's default `maxInFlight`, used for the raw baseline too. */
export const IN_FLIGHT = 128;

/**
 * @typedef {object} Broker
 * @property {string} exchange
 * @property {string} queue
 * @property {Connection} connection
 * @property {(onMessage?: (id: string, at: number) => void) => Promise<Counter>} consume
 * @property {(count: number, body: (i: number) => object) => Promise<void>} publishRaw
 * @property {() => Promise<void>} purge
 * @property {() => Promise<void>} close
 */

/**
 * @typedef {object} Counter
 * @property {number} distinct   distinct event ids received so far
 * @property {number} total      deliveries, duplicates included
 * @property {(n: number, timeoutMs: number) => Promise<void>} waitFor  resolves when `n` distinct ids arrived
 * @property {() => void} reset
 * @property {() => Promise<void>} close
 */

/**
 * Declares a durable topic exchange and a durable queue bound to everything on it. With
 * `existing` (the name of an exchange and queue another process declared, e.g. for the peer's
 * child process) it only attaches: nothing is declared, and `close()` deletes nothing.
 */
export async function openBroker(url, prefix = 'bench', { existing } = {}) {
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

  /** @type {Broker} */
  const broker = {
    exchange: name,
    queue: name,
    connection,
    async consume(onMessage) {
      const seen = new Set();
      let waiter = null;
      const counter = {
        distinct: 0,
        total: 0,
        waitFor(n, timeoutMs) {
          if (counter.distinct >= n) return Promise.resolve();
          return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
              waiter = null;
              reject(new Error(`consumer: ${counter.distinct} of ${n} events after ${timeoutMs} ms`));
            }, timeoutMs);
            waiter = { n, done: () => { clearTimeout(timer); waiter = null; resolve(); } };
          });
        },
        reset() {
          seen.clear();
          counter.distinct = 0;
          counter.total = 0;
        },
        close: () => consumer.close(),
      };
      const consumer = connection.createConsumer({ queue: name, qos: { prefetchCount: PREFETCH }, concurrency: 1, queueOptions: { passive: true } }, (message) => {
        const at = performance.now();
        counter.total++;
        const id = message.messageId ?? `no-id-${counter.total}`;
        if (seen.has(id)) return;
        seen.add(id);
        counter.distinct++;
        onMessage?.(id, at);
        if (waiter && counter.distinct >= waiter.n) waiter.done();
      });
      consumer.on('error', () => {});
      await new Promise((resolve, reject) => {
        consumer.once('ready', resolve);
        consumer.once('error', reject);
      });
      consumers.add(consumer);
      return counter;
    },
    async publishRaw(count, body) {
      // The same wire settings as the relay's publisher: confirms, persistent, mandatory.
      // A connection of its own, as the relay's publisher has.
      const own = new Connection({ url, connectionName: `${name}-raw` });
      own.on('error', () => {});
      const publisher = own.createPublisher({ confirm: true, maxAttempts: 1 });
      try {
        let next = 0;
        const worker = async () => {
          while (next < count) {
            const i = next++;
            await publisher.send(
              { exchange: name, routingKey: 'order.placed', durable: true, mandatory: true, messageId: `raw-${i}`, contentType: 'application/json', type: 'order.placed', timestamp: Math.floor(Date.now() / 1000) },
              JSON.stringify(body(i)),
            );
          }
        };
        await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
      } finally {
        await publisher.close();
        await own.close();
      }
    },
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
