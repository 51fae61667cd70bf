import {
  ConsumerStartup,
  consumerSetupError,
  deadLetterHeaders,
  InboxDeliveries,
  MESSAGE_HEADERS,
  RunningHandlers,
  type InboxConsumerHandle,
  type InboxConsumerStats,
  type SqlExecutor,
} from '@outboxkit/core';
import { PubSub, type Message, type Subscription, type Topic } from '@google-cloud/pubsub';
import { clientOptions } from './connection.js';
import { normalizePubsubInboxConsumerOptions, type NormalizedPubsubInboxConsumerOptions, type PubsubInboxConsumerOptions } from './inbox-options.js';

/** A running Pub/Sub inbox consumer: the same handle as every broker's. */
export type PubsubInboxConsumer = InboxConsumerHandle;

/**
 * Consumes a Pub/Sub subscription (streaming pull) with an inbox: each message runs in one
 * database transaction that first records (consumer, event id), and is acked only after that
 * commit, so the handler's effect is applied once however often Pub/Sub delivers it. The client
 * keeps extending a message's ack deadline while its handler runs. A failed run is nacked after
 * `retryDelayMs` (on an ordered subscription the aggregate waits meanwhile); after `maxDeliveries`
 * deliveries (Pub/Sub's `deliveryAttempt`, counted when the subscription has a dead-letter policy)
 * a copy with the error in `x-outbox-error` is published to the dead-letter topic, then the
 * original is acked.
 *
 * @example
 * const consumer = createPubsubInboxConsumer({
 *   connection: 'pubsub://my-project',
 *   subscription: 'billing-orders',
 *   consumer: 'billing',
 *   db: pgDatabase(pool),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, tx) => { await tx.query('INSERT INTO invoices (order_id) VALUES ($1)', [event.aggregateId]); },
 * });
 * await consumer.ready();
 */
export function createPubsubInboxConsumer<Tx = SqlExecutor>(options: PubsubInboxConsumerOptions<Tx>): PubsubInboxConsumer {
  return new SubscriptionInboxConsumer(normalizePubsubInboxConsumerOptions(options));
}

const RETRY_MS = 1000;

class SubscriptionInboxConsumer<Tx> implements PubsubInboxConsumer {
  readonly #config: NormalizedPubsubInboxConsumerOptions<Tx>;
  readonly #client: PubSub;
  readonly #closing = new AbortController();
  readonly #deliveries: InboxDeliveries<Tx>;
  readonly #running: RunningHandlers;
  readonly #startup = new ConsumerStartup();
  /** Redeliveries waiting out their delay: nacked at once on close. */
  readonly #delayed = new Map<Message, NodeJS.Timeout>();
  /** Deliveries per message id, for subscriptions without a dead-letter policy (Pub/Sub then reports no deliveryAttempt). */
  readonly #seen = new Map<string, number>();
  #subscription: Subscription | null = null;
  #deadLetter: Topic | null = null;
  #closed: Promise<void> | null = null;

  constructor(config: NormalizedPubsubInboxConsumerOptions<Tx>) {
    this.#config = config;
    const target = config.connection;
    this.#client = target.kind === 'owned' ? new PubSub(clientOptions(target)) : target.instance;
    this.#deliveries = new InboxDeliveries(config, this.#closing.signal);
    this.#running = new RunningHandlers(config.concurrency);
    void this.#start();
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
      // Handlers running finish their commit and ack before the stream (which sends the acks) closes.
      this.#subscription?.removeAllListeners('message');
      await this.#running.drain();
      await this.#subscription?.close().catch((error: unknown) => this.#deliveries.report(error));
      for (const [message, timer] of this.#delayed) {
        clearTimeout(timer);
        message.nack();
      }
      if (this.#config.connection.kind === 'owned') await this.#client.close();
    })();
    return this.#closed;
  }

  /** Finds the dead-letter topic and opens the stream; retries until it works or the consumer closes. */
  async #start(): Promise<void> {
    while (!this.#closing.signal.aborted) {
      try {
        const subscription = this.#client.subscription(this.#config.subscription, {
          flowControl: { maxMessages: this.#config.concurrency, allowExcessMessages: false },
        });
        // Bounded: the client would otherwise retry an unreachable endpoint for a minute before ready() could say why.
        const [metadata] = await subscription.getMetadata({ timeout: 5000, maxRetries: 0 });
        const deadLetter = this.#config.deadLetterTopic ?? metadata.deadLetterPolicy?.deadLetterTopic ?? null;
        if (deadLetter === null || deadLetter === '') {
          throw new Error(
            `subscription ${this.#config.subscription} has no dead-letter policy and deadLetterTopic is not set; give it a dead-letter topic or set deadLetterTopic`,
          );
        }
        this.#deadLetter = this.#client.topic(deadLetter);
        if (this.#closing.signal.aborted) return;
        this.#subscription = subscription;
        subscription.on('message', (message: Message) => this.#running.add(this.#handle(message).catch((error: unknown) => this.#deliveries.report(error))));
        subscription.on('error', (error: unknown) => {
          // A failed stream (the service unreachable for long, the subscription deleted): open a new one.
          this.#deliveries.report(error);
          void subscription.close().catch(() => undefined);
          if (this.#closing.signal.aborted) return;
          this.#startup.failed(consumerSetupError('Pub/Sub', this.#config.consumer, describe(error), error));
          void this.#deliveries.wait(RETRY_MS).then((open) => {
            if (open) void this.#start();
          });
        });
        this.#startup.succeeded();
        return;
      } catch (error) {
        if (this.#closing.signal.aborted) return;
        this.#startup.failed(consumerSetupError('Pub/Sub', this.#config.consumer, describe(error), error));
        this.#deliveries.report(error);
        await this.#deliveries.wait(RETRY_MS);
      }
    }
  }

  async #handle(message: Message): Promise<void> {
    const deliveries = message.deliveryAttempt > 0 ? message.deliveryAttempt : this.#count(message.id);
    const headers = { ...message.attributes };
    const verdict = await this.#deliveries.judge({ message: { headers, body: message.data }, deliveries });
    if (verdict.kind === 'ack') {
      this.#seen.delete(message.id);
      message.ack();
      return;
    }
    if (verdict.kind === 'redeliver') {
      if (verdict.delayMs === 0 || this.#closing.signal.aborted) message.nack();
      else {
        // Held (the client extends its deadline) until the delay passed, then offered again.
        const timer = setTimeout(() => {
          this.#delayed.delete(message);
          message.nack();
        }, verdict.delayMs);
        this.#delayed.set(message, timer);
      }
      return;
    }
    // Stored (message id returned) before the original is acked: a crash in between duplicates the dead letter instead of losing the message.
    await this.#deadLetter!.publishMessage({
      data: message.data,
      attributes: { ...headers, ...deadLetterHeaders(verdict.reason.slice(0, 1000), deliveries, this.#config.subscription) },
    });
    this.#deliveries.deadLettered(headers[MESSAGE_HEADERS.eventId], verdict.reason, deliveries);
    this.#seen.delete(message.id);
    message.ack();
  }

  #count(id: string): number {
    const n = (this.#seen.get(id) ?? 0) + 1;
    this.#seen.set(id, n);
    return n;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
