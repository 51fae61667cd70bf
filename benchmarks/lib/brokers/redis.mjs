// Redis Streams side of the broker scenario: a stream prefix of its own (every benchmark event
// is an `order`, so one stream `<prefix>:order`), a reader (XREAD from the entries added after it
// started) that counts distinct event ids, the relay's publisher and the raw client baseline.
import { createClient } from 'redis';
import { MESSAGE_HEADERS } from '@outboxkit/core';
import { createRedisPublisher, defaultStream, toStreamFields } from '@outboxkit/redis';
import { uniqueName } from '../util.mjs';
import { idCounter } from './id-counter.mjs';

const COUNT = 512;
const BLOCK_MS = 100;

export async function openRedisBroker(url, prefix = 'bench') {
  const streamPrefix = uniqueName(prefix);
  const key = `${streamPrefix}:order`;
  const admin = createClient({ url });
  admin.on('error', () => {});
  await admin.connect();
  const consumers = new Set();

  /** @type {import('./index.mjs').Broker} */
  const broker = {
    kind: 'redis',
    async consume(onMessage) {
      const { counter, received } = idCounter(onMessage, () => stop());
      // A blocking read holds its connection: the reader has one of its own.
      const reader = createClient({ url });
      reader.on('error', () => {});
      await reader.connect();
      const [last] = await reader.xRevRange(key, '+', '-', { COUNT: 1 });
      let position = last?.id ?? '0-0';
      let stopped = false;
      const done = (async () => {
        while (!stopped) {
          const reply = await reader.xRead({ key, id: position }, { COUNT, BLOCK: BLOCK_MS });
          for (const { messages } of reply ?? []) {
            for (const entry of messages) {
              received(entry.message[MESSAGE_HEADERS.eventId], performance.now());
              position = entry.id;
            }
          }
        }
      })();
      const stop = async () => {
        consumers.delete(stop);
        stopped = true;
        await done.catch(() => {});
        reader.destroy();
      };
      consumers.add(stop);
      return counter;
    },
    publisher: (create = createRedisPublisher) => create({ connection: url, streamPrefix }),
    async rawClient() {
      // A client of its own, as the relay's publisher has; the same stream and fields.
      const own = createClient({ url });
      own.on('error', () => {});
      await own.connect();
      return {
        send: (event) => own.xAdd(defaultStream(event, streamPrefix), '*', toStreamFields(event)),
        close: () => own.close(),
      };
    },
    purge: () => admin.del(key).then(() => undefined),
    async close() {
      for (const stop of [...consumers]) await stop();
      await admin.del(key).catch(() => {});
      await admin.close();
    },
  };
  return broker;
}
