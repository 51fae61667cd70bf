import type { DeliveryLog } from './delivery-log.js';
import { RecordingCollector } from './message-collector.js';

export interface CollectRedisStreamsOptions {
  url: string;
  /** Every stream whose key starts with this is read (new ones are found as they appear), e.g. `okt_x:`. */
  keyPrefix: string;
  log?: DeliveryLog;
}

/** Stream fields that carry the payload; everything else is a header (see `@outboxkit/redis`'s wire format). */
const PAYLOAD_FIELD = 'x-outbox-payload';
const BLOCK_MS = 200;

/**
 * Reads every stream under a key prefix from its first entry (`XREAD`, no group) and records each
 * entry. Streams are rediscovered (`SCAN`) every round, and the read position is kept across a
 * server restart, so a Redis with an append-only file can be killed underneath it.
 *
 * @example
 * const collector = await collectRedisStreams({ url: 'redis://127.0.0.1:6379', keyPrefix: 'outbox:' });
 */
export async function collectRedisStreams(options: CollectRedisStreamsOptions): Promise<RecordingCollector> {
  const { createClient } = await import('redis');
  const client = createClient({ url: options.url, socket: { reconnectStrategy: () => 100 } }) as unknown as Client;
  const collector = new RedisStreamsCollector(`collectRedisStreams(${options.keyPrefix}*)`, client, options.keyPrefix, options.log);
  client.on('error', (error: unknown) => collector.errors.push(error));
  await client.connect();
  collector.begin();
  return collector;
}

type Client = ReturnType<typeof import('redis').createClient>;

class RedisStreamsCollector extends RecordingCollector {
  readonly #positions = new Map<string, string>();
  #stopped = false;
  #loop: Promise<void> = Promise.resolve();

  constructor(
    name: string,
    private readonly client: Client,
    private readonly keyPrefix: string,
    log?: DeliveryLog,
  ) {
    super(name, log);
  }

  begin(): void {
    this.#loop = this.#read();
  }

  async #read(): Promise<void> {
    while (!this.#stopped) {
      try {
        for await (const keys of this.client.scanIterator({ MATCH: `${this.keyPrefix}*`, TYPE: 'stream', COUNT: 1000 })) {
          for (const key of keys) if (!this.#positions.has(key) && !key.endsWith(':dead')) this.#positions.set(key, '0-0');
        }
        if (this.#positions.size === 0) {
          await new Promise((resolve) => setTimeout(resolve, BLOCK_MS));
          continue;
        }
        const streams = [...this.#positions].map(([key, id]) => ({ key, id }));
        const reply = await this.client.xRead(streams, { COUNT: 500, BLOCK: BLOCK_MS });
        for (const stream of reply ?? []) {
          for (const entry of stream.messages) {
            const { [PAYLOAD_FIELD]: body = '', ...headers } = entry.message as Record<string, string>;
            this.record({ nativeId: undefined, headers, body });
            this.#positions.set(stream.name, entry.id);
          }
        }
      } catch (error) {
        if (this.#stopped) return;
        this.errors.push(error);
        await new Promise((resolve) => setTimeout(resolve, BLOCK_MS));
      }
    }
  }

  protected async stop(): Promise<void> {
    this.#stopped = true;
    this.client.destroy();
    await this.#loop;
  }
}
