import { setTimeout as sleep } from 'node:timers/promises';
import {
  applyInboxEvent,
  boundedErrorText,
  secretsOf,
  type ApplyInboxEventOptions,
  type EventMap,
  type InboxConsumerStats,
  type InboxEvent,
  type SqlExecutor,
} from '@outboxkit/core';
import { Connection, ConsumerStatus, type AsyncMessage, type Consumer, type Publisher } from 'rabbitmq-client';
import { ConsumerSetup } from './consumer-setup.js';
import { exchangeDeclaration, isPredeclaredExchange } from './exchanges.js';
import { counterHeader, copyOf, decodeInboxEvent, INBOX_HEADERS, UndecodableMessage } from './inbox-message.js';
import { normalizeInboxConsumerOptions, type InboxConsumerOptions, type InboxObserver, type NormalizedInboxConsumerOptions } from './inbox-options.js';
import { RABBIT_PUBLISHER_DEFAULTS } from './options.js';

export type { InboxConsumerStats };

export interface InboxConsumer {
  /**
   * Resolves once the exchanges and the queue are declared, the bindings made and consuming has
   * started. Rejects with the broker's reason (an `OutboxError` with code
   * `OUTBOX_CONSUMER_SETUP`) when that fails or the broker cannot be reached; the consumer keeps
   * retrying, and a later `ready()` resolves once a setup succeeded.
   */
  ready(): Promise<void>;
  stats(): InboxConsumerStats;
  /**
   * Stops taking messages, lets running handlers finish (commit and ack), requeues messages
   * waiting for a retry delay, then closes the channels (and the connection if it was a URL).
   */
  close(): Promise<void>;
}

/**
 * Consumes outbox events with an inbox: each delivery runs in one database transaction that
 * first records (consumer, event id), so the handler's effect is applied once however often the
 * message is delivered. Failed runs are retried by republishing the message to the tail of the
 * queue with an attempts header (bounded, and never blocking the messages behind it); after
 * `maxAttempts` it goes to the dead-letter exchange with the error in `x-outbox-error`.
 *
 * @example
 * const consumer = createInboxConsumer({
 *   connection: 'amqp://guest:guest@localhost:5672',
 *   queue: 'billing.orders',
 *   consumer: 'billing',
 *   db: pgDatabase(pool),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, tx) => {
 *     await tx.query('INSERT INTO invoices (order_id) VALUES ($1)', [event.aggregateId]);
 *   },
 * });
 * await consumer.ready();
 * // on shutdown
 * await consumer.close();
 */
export function createInboxConsumer<Events extends EventMap = EventMap, Tx = SqlExecutor>(options: InboxConsumerOptions<Tx, Events>): InboxConsumer {
  return new RabbitInboxConsumer(normalizeInboxConsumerOptions(options));
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Each bound exchange once, except the broker's own. */
function exchangesToDeclare(bindings: NormalizedInboxConsumerOptions<unknown>['bindings']) {
  const names = new Set(bindings.map((binding) => binding.exchange).filter((exchange) => !isPredeclaredExchange(exchange)));
  return [...names].map((exchange) => exchangeDeclaration(exchange, RABBIT_PUBLISHER_DEFAULTS.exchangeType));
}

class RabbitInboxConsumer<Tx> implements InboxConsumer {
  readonly #config: NormalizedInboxConsumerOptions<Tx>;
  readonly #apply: ApplyInboxEventOptions<Tx>;
  readonly #connection: Connection;
  readonly #ownsConnection: boolean;
  readonly #publisher: Publisher;
  readonly #consumer: Consumer;
  readonly #setup: ConsumerSetup;
  readonly #stats: Mutable<InboxConsumerStats> = { processed: 0, duplicates: 0, failed: 0, deadLettered: 0, heldBack: 0 };
  /** Aborts retry and hold delays on close, so shutdown does not wait them out. */
  readonly #closing = new AbortController();
  #closed: Promise<void> | null = null;

  constructor(config: NormalizedInboxConsumerOptions<Tx>) {
    this.#config = config;
    this.#apply = { db: config.db, dialect: config.dialect, consumer: config.consumer, handler: config.handler, ordering: config.ordering };
    this.#ownsConnection = config.connection.kind === 'owned';
    this.#connection = config.connection.kind === 'owned' ? new Connection(config.connection.url) : config.connection.instance;
    this.#setup = new ConsumerSetup({
      consumer: config.consumer,
      queue: config.queue,
      declareQueue: config.declareQueue,
      declareExchanges: config.declareExchanges,
      secrets: config.connection.kind === 'owned' ? secretsOf(config.connection.url) : [],
    });
    this.#connection.on('error', this.#onConnectionError);

    const { deadLetter } = config;
    // Confirmed publishes: a retry copy or a dead letter is acknowledged by the broker before
    // the original is acked, so a crash in between duplicates the message (the inbox absorbs
    // that) instead of losing it.
    this.#publisher = this.#connection.createPublisher({
      confirm: true,
      exchanges: deadLetter.declare ? [{ exchange: deadLetter.exchange, type: 'fanout', durable: true }] : [],
      queues: deadLetter.declare && deadLetter.queue !== null ? [{ queue: deadLetter.queue, durable: true }] : [],
      queueBindings: deadLetter.declare && deadLetter.queue !== null ? [{ queue: deadLetter.queue, exchange: deadLetter.exchange, routingKey: '' }] : [],
    });
    this.#consumer = this.#connection.createConsumer(
      {
        queue: config.queue,
        queueOptions: config.declareQueue ? { durable: true } : { passive: true },
        // Declared like the relay declares its exchange, so either may start first.
        exchanges: config.declareExchanges ? exchangesToDeclare(config.bindings) : [],
        queueBindings: config.bindings.map((binding) => ({ queue: config.queue, ...binding })),
        qos: { prefetchCount: config.prefetch },
        concurrency: config.concurrency,
        requeue: true,
      },
      (message) => this.#onMessage(message),
    );
    this.#consumer.on('error', (error) => {
      this.#setup.failed(error, 'setup');
      this.#report(error);
    });
    this.#consumer.on('ready', () => this.#setup.succeeded());
  }

  ready(): Promise<void> {
    return this.#setup.wait();
  }

  /** Also keeps an owned connection's errors from crashing the process (an emitter without an 'error' listener throws). */
  readonly #onConnectionError = (error: unknown): void => {
    // While the connection is up it re-emits errors of its channels, which the consumer reports itself.
    if (!this.#connection.ready) this.#setup.failed(error, 'connection');
    if (this.#ownsConnection) this.#report(error);
  };

  stats(): InboxConsumerStats {
    return Object.freeze({ ...this.#stats });
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#closing.abort();
      // An owned connection that is not up (a wrong URL or password, the broker down) is closed
      // first: that ends a pending setup at once, which the consumer's close() would otherwise
      // wait out (rabbitmq-client's 20 s acquire timeout). Nothing could be acked without it anyway.
      const closeFirst = this.#ownsConnection && !this.#connection.ready;
      if (closeFirst) await this.#connection.close();
      await this.#consumer.close();
      await this.#publisher.close();
      if (this.#ownsConnection && !closeFirst) await this.#connection.close();
      this.#connection.off('error', this.#onConnectionError);
    })();
    return this.#closed;
  }

  async #onMessage(message: AsyncMessage): Promise<ConsumerStatus> {
    const event = decodeInboxEvent(message);
    if (event instanceof UndecodableMessage) {
      // Retrying cannot give a message an id or valid JSON: straight to the dead letters.
      return this.#deadLetter(message, `undecodable message: ${event.reason}`, counterHeader(message, INBOX_HEADERS.attempts));
    }
    const attempt = counterHeader(message, INBOX_HEADERS.attempts) + 1;
    let outcome: Awaited<ReturnType<typeof applyInboxEvent>>;
    try {
      outcome = await applyInboxEvent(this.#apply, event);
    } catch (error) {
      // The database (or the transaction seam) failed, not the handler: the message is not at
      // fault, so no attempt is spent. Back off, then hand it back to the queue.
      this.#report(error);
      await this.#wait(this.#config.retryDelayMs);
      return ConsumerStatus.REQUEUE;
    }
    switch (outcome.kind) {
      case 'processed':
        this.#stats.processed++;
        this.#notify('onProcessed', { event, attempt, durationMs: outcome.durationMs });
        await this.#afterCommit(event);
        return ConsumerStatus.ACK;
      case 'duplicate':
        this.#stats.duplicates++;
        this.#notify('onDuplicate', { event });
        return ConsumerStatus.ACK;
      case 'held-back':
        return this.#holdBack(message, event, outcome.expected);
      case 'failed':
        return this.#failed(message, event, outcome.error, attempt, outcome.durationMs);
    }
  }

  async #failed(message: AsyncMessage, event: InboxEvent, error: unknown, attempt: number, durationMs: number): Promise<ConsumerStatus> {
    this.#stats.failed++;
    const willRetry = attempt < this.#config.maxAttempts;
    this.#notify('onFailed', { event, error, attempt, durationMs, willRetry });
    const reason = boundedErrorText(error);
    if (!willRetry) return this.#deadLetter(message, reason, attempt);
    if (!(await this.#wait(this.#config.retryDelayMs))) return ConsumerStatus.REQUEUE;
    return this.#republish(message, { [INBOX_HEADERS.attempts]: attempt, [INBOX_HEADERS.error]: reason });
  }

  async #holdBack(message: AsyncMessage, event: InboxEvent, expected: string): Promise<ConsumerStatus> {
    const ordering = this.#config.ordering!;
    const holds = counterHeader(message, INBOX_HEADERS.holds) + 1;
    if (holds > ordering.maxHolds) {
      return this.#deadLetter(message, `held back ${ordering.maxHolds} times waiting for ${expected}`, counterHeader(message, INBOX_HEADERS.attempts));
    }
    this.#stats.heldBack++;
    this.#notify('onHeldBack', { event, holds });
    if (!(await this.#wait(ordering.holdDelayMs))) return ConsumerStatus.REQUEUE;
    return this.#republish(message, { [INBOX_HEADERS.holds]: holds });
  }

  /**
   * Puts a copy at the tail of the queue (default exchange, routing key = queue), then acks the
   * original. Why not nack-requeue: RabbitMQ 3.10 classic queues keep no delivery count
   * (`x-delivery-count` exists on quorum queues only) and requeue puts the message back at the
   * head, where it would be redelivered at once, ahead of everything else.
   */
  async #republish(message: AsyncMessage, headers: Record<string, unknown>): Promise<ConsumerStatus> {
    const { envelope, body } = copyOf(message, headers);
    try {
      await this.#publisher.send({ ...envelope, exchange: '', routingKey: this.#config.queue }, body);
      return ConsumerStatus.ACK;
    } catch (error) {
      this.#report(error);
      return ConsumerStatus.REQUEUE;
    }
  }

  async #deadLetter(message: AsyncMessage, reason: string, attempts: number): Promise<ConsumerStatus> {
    const { envelope, body } = copyOf(message, {
      [INBOX_HEADERS.error]: reason,
      [INBOX_HEADERS.attempts]: attempts,
      [INBOX_HEADERS.deadLetteredAt]: new Date().toISOString(),
      [INBOX_HEADERS.sourceQueue]: this.#config.queue,
    });
    try {
      await this.#publisher.send({ ...envelope, exchange: this.#config.deadLetter.exchange, routingKey: this.#config.queue }, body);
    } catch (error) {
      this.#report(error);
      await this.#wait(this.#config.retryDelayMs);
      return ConsumerStatus.REQUEUE;
    }
    this.#stats.deadLettered++;
    this.#notify('onDeadLettered', { messageId: message.messageId, reason, attempts });
    return ConsumerStatus.ACK;
  }

  async #afterCommit(event: InboxEvent): Promise<void> {
    try {
      await this.#config.observer.afterCommit?.({ event });
    } catch (error) {
      // The transaction is committed: the message must be acked whatever a hook does.
      this.#report(error);
    }
  }

  /** Sleeps `ms`; false when close() interrupted the wait. */
  async #wait(ms: number): Promise<boolean> {
    if (ms === 0) return !this.#closing.signal.aborted;
    try {
      await sleep(ms, undefined, { signal: this.#closing.signal });
      return true;
    } catch {
      return false;
    }
  }

  #notify<K extends Exclude<keyof InboxObserver, 'afterCommit' | 'onError'>>(hook: K, info: Parameters<NonNullable<InboxObserver[K]>>[0]): void {
    try {
      (this.#config.observer[hook] as ((value: typeof info) => void) | undefined)?.(info);
    } catch (error) {
      this.#report(error);
    }
  }

  #report(error: unknown): void {
    try {
      this.#config.observer.onError?.(error);
    } catch {
      // An error reporter that throws has nowhere left to report to.
    }
  }
}
