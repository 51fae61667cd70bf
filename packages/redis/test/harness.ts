import * as sqlite from '@outboxkit/sqlite';
import { collectRedisStreams, serviceUrl, sqliteConformanceDatabase, startRedisServer, uniqueName, type PublisherHarness } from '@outboxkit/testkit';
import { createClient } from 'redis';
import { createRedisPublisher } from '../src/index.js';

/** Streams under a key prefix of this test run, on the shared server or a private one (append-only file, fsync always). */
export const redisHarness: PublisherHarness = {
  name: 'Redis Streams',
  features: { brokerDedupe: false, unroutable: false, missingDestination: true, orderingKey: false, brokerMaxMessageBytes: null },
  unreachableUrl: 'redis://okt:N0t-For-Logs-7731@127.0.0.1:1',
  database: () => sqliteConformanceDatabase(sqlite),
  startBroker: () => startRedisServer({ persistence: 'always' }),
  async setup(url) {
    const brokerUrl = url ?? (await serviceUrl('redis'));
    const streamPrefix = uniqueName('okt');
    return {
      missingDestination: `${streamPrefix}:missing`,
      publisher: (options = {}) =>
        createRedisPublisher({
          connection: options.url ?? brokerUrl,
          streamPrefix,
          ...(options.timeoutMs !== undefined ? { replyTimeoutMs: options.timeoutMs } : {}),
          ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
          ...(options.strictDestinations ? { createStreams: false } : {}),
        }),
      collect: () => collectRedisStreams({ url: brokerUrl, keyPrefix: `${streamPrefix}:` }),
      async dispose() {
        const client = createClient({ url: brokerUrl, socket: { reconnectStrategy: false } });
        client.on('error', () => undefined);
        try {
          await client.connect();
          for await (const keys of client.scanIterator({ MATCH: `${streamPrefix}:*`, COUNT: 1000 })) if (keys.length > 0) await client.del(keys);
        } catch {
          // A private server is gone already; its directory goes with it.
        } finally {
          client.destroy();
        }
      },
    };
  },
};
