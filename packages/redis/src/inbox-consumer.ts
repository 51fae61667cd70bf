import {
  ConsumerStartup,
  consumerSetupError,
  deadLetterHeaders,
  InboxDeliveries,
  MESSAGE_HEADERS,
  RunningHandlers,
  type InboxConsumerHandle,
  type EventMap,
  type InboxConsumerStats,
  type SqlExecutor,
} from '@outboxkit/core';
import { ErrorReply } from 'redis';
import { RedisLink, type RedisClient } from './connection.js';
import { normalizeRedisInboxConsumerOptions, type NormalizedRedisInboxConsumerOptions, type RedisInboxConsumerOptions } from './inbox-options.js';
import { fromStreamFields } from './wire-format.js';

/** A running Redis Streams inbox consumer: the same handle as every broker's. */
export type RedisInboxConsumer = InboxConsumerHandle;

/**
 * Consumes a Redis stream through a consumer group with an inbox: each entry runs in one database
 * transaction that first records (consumer, event id), then is `XACK`ed. A failed run leaves the
 * entry pending and claims it back after `retryDelayMs`; an entry another consumer held for
 * `claimIdleMs` is taken over with `XAUTOCLAIM`. After `maxDeliveries` deliveries (Redis's own
 * count in the pending entries list) the entry is added to the dead-letter stream with the error
 * in `x-outbox-error`, then acked.
 *
 * @example
 * const consumer = createRedisInboxConsumer({
 *   connection: 'redis://127.0.0.1:6379',
 *   stream: 'outbox:order',
 *   consumer: 'billing',
 *   db: pgDatabase(pool),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, tx) => { await tx.query('INSERT INTO invoices (order_id) VALUES ($1)', [event.aggregateId]); },
 * });
 * await consumer.ready();
 */
export function createRedisInboxConsumer<Events extends EventMap = EventMap, Tx = SqlExecutor>(
  options: RedisInboxConsumerOptions<Tx, Events>,
): RedisInboxConsumer {
  return new StreamInboxConsumer(normalizeRedisInboxConsumerOptions(options));
}

interface Entry {
  readonly id: string;
  readonly message: Record<string, string>;
}

class StreamInboxConsumer<Tx> implements RedisInboxConsumer {
  readonly #config: NormalizedRedisInboxConsumerOptions<Tx>;
  readonly #link: RedisLink;
  /** Blocking reads hold their connection; they get one of their own. */
  #reader: RedisClient | null = null;
  readonly #closing = new AbortController();
  readonly #deliveries: InboxDeliveries<Tx>;
  readonly #running: RunningHandlers;
  readonly #startup = new ConsumerStartup();
  /** This consumer's entries waiting for a redelivery, by id: when they are due. */
  readonly #due = new Map<string, number>();
  readonly #loop: Promise<void>;
  #closed: Promise<void> | null = null;

  constructor(config: NormalizedRedisInboxConsumerOptions<Tx>) {
    this.#config = config;
    this.#link = new RedisLink(config.connection, `outboxkit-inbox-${config.group}`);
    this.#deliveries = new InboxDeliveries(config, this.#closing.signal);
    this.#running = new RunningHandlers(config.concurrency);
    this.#loop = this.#run();
  }

  /** Rejects with the reason (`OUTBOX_CONSUMER_SETUP`) while the setup fails; the consumer keeps retrying. */
  ready(): Promise<void> {
    return this.#startup.wait();
  }

  stats(): InboxConsumerStats {
    return this.#deliveries.stats();
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      // Ends a blocking read at once instead of waiting out its BLOCK.
      this.#reader?.destroy();
      await this.#loop;
      await this.#running.drain();
      await this.#link.close();
    })();
    return this.#closed;
  }

  async #run(): Promise<void> {
    const { stream, group, consumerName } = this.#config;
    while (!this.#closing.signal.aborted) {
      try {
        await this.#link.ready(this.#closing.signal);
        await this.#link.client.xGroupCreate(stream, group, '0', { MKSTREAM: true }).catch((error: unknown) => {
          if (!(error instanceof ErrorReply && /^BUSYGROUP/.test(error.message))) throw error;
        });
        this.#reader ??= this.#openReader();
        if (!this.#reader.isOpen) await this.#reader.connect();
        this.#startup.succeeded();
        while (!this.#closing.signal.aborted) {
          await this.#running.slot();
          const free = this.#running.free;
          const batch = [...(await this.#dueRetries(free)), ...(await this.#stale(free))];
          if (batch.length === 0) {
            const reply = await this.#reader.xReadGroup(group, consumerName, { key: stream, id: '>' }, { COUNT: free, BLOCK: this.#config.blockMs });
            for (const entry of reply?.[0]?.messages ?? []) this.#start(entry, 1);
            continue;
          }
          const counts = await this.#deliveryCounts(batch.map(([entry]) => entry.id));
          for (const [entry] of batch) this.#start(entry, counts.get(entry.id) ?? 1);
        }
      } catch (error) {
        if (this.#closing.signal.aborted) return;
        this.#startup.failed(consumerSetupError('Redis', this.#config.group, this.#link.text(error), error));
        this.#deliveries.report(error);
        await this.#deliveries.wait(1000);
      }
    }
  }

  #openReader(): RedisClient {
    const reader = this.#link.client.duplicate();
    reader.on('error', (error: unknown) => this.#deliveries.report(error));
    return reader;
  }

  /** This consumer's own entries whose redelivery delay has passed, claimed again (which counts a delivery). */
  async #dueRetries(limit: number): Promise<[Entry][]> {
    const now = Date.now();
    const ids = [...this.#due]
      .filter(([, at]) => at <= now)
      .slice(0, limit)
      .map(([id]) => id);
    if (ids.length === 0) return [];
    for (const id of ids) this.#due.delete(id);
    const claimed = await this.#link.client.xClaim(this.#config.stream, this.#config.group, this.#config.consumerName, 0, ids);
    return this.#present(ids, claimed);
  }

  /** Entries other consumers of the group have held past `claimIdleMs` (they died or hang). */
  async #stale(limit: number): Promise<[Entry][]> {
    if (limit <= 0) return [];
    const { stream, group, consumerName, claimIdleMs } = this.#config;
    const reply = await this.#link.client.xAutoClaim(stream, group, consumerName, claimIdleMs, '0-0', { COUNT: limit });
    for (const id of reply.deletedMessages)
      this.#deliveries.report(new Error(`entry ${id} of ${stream} was trimmed (MAXLEN) before group ${group} processed it`));
    return reply.messages.flatMap((entry) => (entry === null || this.#due.has(entry.id) ? [] : [[entry as Entry] as [Entry]]));
  }

  /** Claimed entries; an id that came back empty was trimmed from the stream meanwhile and is acked away. */
  async #present(ids: readonly string[], claimed: readonly (Entry | null)[]): Promise<[Entry][]> {
    const found = claimed.filter((entry): entry is Entry => entry !== null);
    const gone = ids.filter((id) => !found.some((entry) => entry.id === id));
    if (gone.length > 0) {
      this.#deliveries.report(new Error(`entries ${gone.join(', ')} of ${this.#config.stream} were trimmed before they could be redelivered`));
      await this.#link.client.xAck(this.#config.stream, this.#config.group, gone);
    }
    return found.map((entry) => [entry]);
  }

  /** Redis's delivery counters of pending entries of this consumer. */
  async #deliveryCounts(ids: readonly string[]): Promise<Map<string, number>> {
    const sorted = [...ids].sort(compareIds);
    const pending = await this.#link.client.xPendingRange(this.#config.stream, this.#config.group, sorted[0]!, sorted.at(-1)!, 1000, {
      consumer: this.#config.consumerName,
    });
    return new Map(pending.map((entry) => [entry.id, entry.deliveriesCounter]));
  }

  #start(entry: Entry, deliveries: number): void {
    const handling = this.#handle(entry, deliveries).catch((error: unknown) => {
      this.#deliveries.report(error);
      // Left pending: it is claimed back once due.
      this.#due.set(entry.id, Date.now() + this.#config.retryDelayMs);
    });
    this.#running.add(handling);
  }

  async #handle(entry: Entry, deliveries: number): Promise<void> {
    const { stream, group, consumerName } = this.#config;
    const client = this.#link.client;
    const { headers, body } = fromStreamFields(entry.message);
    const verdict = await this.#deliveries.judge({
      message: { headers, body },
      deliveries,
      // JUSTID: resets the entry's idle time without counting a delivery, so nobody takes it over.
      keepAlive: async () => void (await client.xClaimJustId(stream, group, consumerName, 0, entry.id)),
    });
    if (verdict.kind === 'ack') {
      await client.xAck(stream, group, entry.id);
      return;
    }
    if (verdict.kind === 'redeliver') {
      this.#due.set(entry.id, Date.now() + verdict.delayMs);
      return;
    }
    // Added before the original is acked: a crash in between duplicates the dead letter instead of losing the entry.
    await client.xAdd(this.#config.deadLetterStream, '*', { ...entry.message, ...deadLetterHeaders(verdict.reason, deliveries, `${stream}/${entry.id}`) });
    this.#deliveries.deadLettered(headers[MESSAGE_HEADERS.eventId], verdict.reason, deliveries);
    await client.xAck(stream, group, entry.id);
  }
}

/** Orders stream ids (`<ms>-<seq>`) numerically. */
function compareIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  return am === bm ? (as < bs ? -1 : as > bs ? 1 : 0) : am < bm ? -1 : 1;
}
