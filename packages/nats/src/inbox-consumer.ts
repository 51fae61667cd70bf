import {
  ConsumerStartup,
  consumerSetupError,
  deadLetterHeaders,
  InboxDeliveries,
  MESSAGE_HEADERS,
  RunningHandlers,
  type InboxConsumerHandle,
  type InboxConsumerStats,
  type EventMap,
  type SqlExecutor,
} from '@outboxkit/core';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  StorageType,
  type ConsumerMessages,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos, type NatsConnection } from '@nats-io/transport-node';
import { NatsLink } from './connection.js';
import { normalizeNatsInboxConsumerOptions, type NatsInboxConsumerOptions, type NormalizedNatsInboxConsumerOptions } from './inbox-options.js';
import { eventHeaders, toMsgHdrs } from './wire-format.js';

/** A running JetStream inbox consumer: the same handle as every broker's. */
export type NatsInboxConsumer = InboxConsumerHandle;

/**
 * Consumes outbox events from a durable JetStream consumer (explicit acks) with an inbox: each
 * delivery runs in one database transaction that first records (consumer, event id), so the
 * handler's effect is applied once however often JetStream delivers the message. A failed run is
 * negatively acknowledged with `retryDelayMs`, so JetStream delivers it again later; after
 * `maxDeliveries` deliveries (JetStream's own count) a copy goes to the dead-letter subject with
 * the error in `x-outbox-error`, and the original is terminated.
 *
 * @example
 * const consumer = createNatsInboxConsumer({
 *   connection: 'nats://127.0.0.1:4222',
 *   consumer: 'billing',
 *   filterSubject: 'outbox.order.>',
 *   db: pgDatabase(pool),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, tx) => { await tx.query('INSERT INTO invoices (order_id) VALUES ($1)', [event.aggregateId]); },
 * });
 * await consumer.ready();
 */
export function createNatsInboxConsumer<Events extends EventMap = EventMap, Tx = SqlExecutor>(
  options: NatsInboxConsumerOptions<Tx, Events>,
): NatsInboxConsumer {
  return new JetStreamInboxConsumer(normalizeNatsInboxConsumerOptions(options));
}

/** How long the consumer waits before retrying its setup (connection down, JetStream unavailable). */
const SETUP_RETRY_MS = 1000;

class JetStreamInboxConsumer<Tx> implements NatsInboxConsumer {
  readonly #config: NormalizedNatsInboxConsumerOptions<Tx>;
  readonly #link: NatsLink;
  readonly #closing = new AbortController();
  readonly #deliveries: InboxDeliveries<Tx>;
  readonly #running: RunningHandlers;
  readonly #startup = new ConsumerStartup();
  readonly #loop: Promise<void>;
  #messages: ConsumerMessages | null = null;
  #closed: Promise<void> | null = null;

  constructor(config: NormalizedNatsInboxConsumerOptions<Tx>) {
    this.#config = config;
    this.#link = new NatsLink(config.connection, `outboxkit-inbox-${config.durable}`);
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
      await this.#messages?.close();
      await this.#loop;
      await this.#running.drain();
      await this.#link.close();
    })();
    return this.#closed;
  }

  async #run(): Promise<void> {
    while (!this.#closing.signal.aborted) {
      try {
        const nc = await this.#link.connection(this.#closing.signal);
        await this.#setUp(await jetstreamManager(nc));
        const consumer = await jetstream(nc).consumers.get(this.#config.stream, this.#config.durable);
        // A small buffer: buffered messages are delivered already, and their ack wait is running.
        const messages = await consumer.consume({ max_messages: this.#config.concurrency * 2 });
        this.#messages = messages;
        if (this.#closing.signal.aborted) await messages.close();
        this.#startup.succeeded();
        for await (const message of messages) {
          await this.#running.slot();
          this.#running.add(this.#handle(nc, message).catch((error: unknown) => this.#deliveries.report(error)));
        }
      } catch (error) {
        if (this.#closing.signal.aborted) return;
        this.#startup.failed(consumerSetupError('NATS', this.#config.durable, this.#link.text(error), error));
        this.#deliveries.report(error);
      }
      await this.#deliveries.wait(SETUP_RETRY_MS);
    }
  }

  async #setUp(jsm: JetStreamManager): Promise<void> {
    const config = this.#config;
    if (config.deadLetter.declare) {
      await jsm.streams.info(config.deadLetter.stream).catch(async (error: unknown) => {
        if (!(error instanceof Error && error.name === 'StreamNotFoundError')) throw error;
        await jsm.streams.add({ name: config.deadLetter.stream, subjects: [config.deadLetter.subject], storage: StorageType.File });
      });
    }
    if (!config.declare) return;
    await jsm.consumers.info(config.stream, config.durable).catch(async (error: unknown) => {
      if (!(error instanceof Error && error.name === 'ConsumerNotFoundError')) throw error;
      await jsm.consumers.add(config.stream, {
        durable_name: config.durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        ack_wait: nanos(config.ackWaitMs),
        // The consumer dead-letters by itself (see maxDeliveries); a server-side limit would
        // stop deliveries silently instead.
        max_deliver: -1,
        max_ack_pending: Math.max(1000, config.concurrency * 4),
        ...(config.filterSubject !== null ? { filter_subject: config.filterSubject } : {}),
      });
    });
  }

  async #handle(nc: NatsConnection, message: JsMsg): Promise<void> {
    const headers = eventHeaders(message.headers);
    const verdict = await this.#deliveries.judge({
      message: { headers, body: message.data, nativeId: message.headers?.get('Nats-Msg-Id') },
      deliveries: message.info.deliveryCount,
      keepAlive: () => message.working(),
    });
    if (verdict.kind === 'ack') {
      message.ack();
      return;
    }
    if (verdict.kind === 'redeliver') {
      message.nak(verdict.delayMs);
      return;
    }
    const { subject } = this.#config.deadLetter;
    try {
      const copy = { ...headers, ...deadLetterHeaders(verdict.reason, message.info.deliveryCount, `${this.#config.stream}/${message.subject}`) };
      // Stored (PubAck) before the original is terminated: a crash in between duplicates the
      // dead letter instead of losing the message. The msgID makes that duplicate collapse too.
      await jetstream(nc).publish(subject, message.data, { headers: toMsgHdrs(copy), msgID: `${message.info.stream}:${message.seq}:dead` });
    } catch (error) {
      this.#deliveries.report(error);
      message.nak(this.#config.retryDelayMs);
      return;
    }
    this.#deliveries.deadLettered(headers[MESSAGE_HEADERS.eventId], verdict.reason, message.info.deliveryCount);
    message.term(verdict.reason.slice(0, 200));
  }
}
