import type { AsyncMessage, Connection, Consumer, ConsumerProps } from 'rabbitmq-client';
import { redactUrl } from '@outboxkit/core';
// The publisher's own header names, so the collector reads exactly what the relay writes.
import { OUTBOX_HEADERS } from '@outboxkit/rabbitmq';
import { DeliveryLog, type Delivery } from './delivery-log.js';
import { describePending } from './message-collector.js';

/** Where the collector's queue comes from. */
export interface QueueDeclaration {
  /** Exchange to bind the queue to. It must exist unless `exchangeType` is given. */
  exchange: string;
  /** One binding per key, e.g. `['#']` for everything a topic exchange routes. */
  bindingKeys: readonly string[];
  /** Declare the exchange too (and delete it on close), e.g. `'topic'`. */
  exchangeType?: 'direct' | 'topic' | 'fanout' | 'headers';
  /**
   * `false` (default): an exclusive, auto-delete queue that dies with the collector's connection.
   * `true`: a durable queue that survives a broker restart (for broker-fault tests); close() deletes it.
   */
  durable?: boolean;
}

interface CollectQueueCommon {
  /** Queue to consume. Without `declare` it must already exist (it is checked passively). */
  queue: string;
  declare?: QueueDeclaration;
  /** Log to record into; pass the one your writers record attempts in. Defaults to a new log. */
  log?: DeliveryLog;
  /** How long to wait for the consumer to be set up before failing. Default 10 000 ms. */
  readyTimeoutMs?: number;
}

/** Options of {@link collectQueue}: a broker URL (the collector owns the connection) or a connection you own. */
export type CollectQueueOptions = CollectQueueCommon & ({ url: string; connection?: never } | { connection: Connection; url?: never });

/**
 * What {@link QueueCollector.waitFor} waits for: a number of deliveries (duplicates included), or
 * a predicate over what was recorded. A named predicate reads better in timeout messages.
 */
export type WaitCondition = number | ((log: DeliveryLog, messages: readonly AsyncMessage[]) => boolean);

/** A running consumer that records every delivery of one queue. */
export interface QueueCollector {
  readonly queue: string;
  /** Every delivery, in arrival order, as the checker reads it. */
  readonly log: DeliveryLog;
  /** The raw messages, in the same order as `log.deliveries`. */
  readonly messages: readonly AsyncMessage[];
  /** Consumer and connection errors seen after setup (they never reject a wait by themselves). */
  readonly errors: readonly unknown[];
  /**
   * Resolves as soon as `condition` holds; rejects after `timeoutMs` with a message saying what
   * was still missing (including committed events not delivered yet, when the log has attempts).
   */
  waitFor(condition: WaitCondition, timeoutMs?: number): Promise<void>;
  /** Stops consuming, deletes what it declared, and closes the connection if it opened it. */
  close(): Promise<void>;
}

const DEFAULT_READY_TIMEOUT_MS = 10_000;
const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
/** Enough in flight that the broker is not the bottleneck of a drain, bounded so memory is. */
const PREFETCH = 256;

/**
 * Consumes a queue and records every delivery (id from `messageId`, aggregate and sequence from
 * outboxkit's headers) into a {@link DeliveryLog}, acking each one. Resolves once the consumer is
 * ready, so anything published afterwards is collected.
 *
 * @example
 * const collector = await collectQueue({
 *   url: await serviceUrl('rabbitmq'),
 *   queue: uniqueName('collect'),
 *   declare: { exchange: 'outbox.events', bindingKeys: ['#'] },
 *   log,
 * });
 * try {
 *   // ... run the relay ...
 *   await collector.waitFor(allCommittedDelivered, 30_000);
 *   expectDeliveryOk(log.check());
 * } finally {
 *   await collector.close();
 * }
 */
export async function collectQueue(options: CollectQueueOptions): Promise<QueueCollector> {
  const { Connection: ConnectionClass } = await import('rabbitmq-client');
  const ownsConnection = options.connection === undefined;
  const connection = options.connection ?? new ConnectionClass(options.url);
  const collector = new RabbitQueueCollector(connection, ownsConnection, options);
  await collector.start(options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS, options.url);
  return collector;
}

/**
 * Reads the checker's view of an AMQP message. Never throws: a message without outboxkit's
 * headers is still recorded (and reported as unexpected), because a guarantee test must see
 * everything that arrived, malformed or not.
 */
export function readDelivery(message: AsyncMessage): Delivery {
  const headers: Record<string, unknown> = message.headers ?? {};
  const delivery: Delivery = {
    // A distinct placeholder per message, so missing ids are not merged into one "duplicate".
    id: message.messageId || `(no messageId: delivery tag ${message.deliveryTag} on ${message.consumerTag})`,
  };
  const aggregateType = headers[OUTBOX_HEADERS.aggregateType];
  const aggregateId = headers[OUTBOX_HEADERS.aggregateId];
  const sequence = toSequence(headers[OUTBOX_HEADERS.sequence]);
  if (typeof aggregateType === 'string') delivery.aggregateType = aggregateType;
  if (typeof aggregateId === 'string' || typeof aggregateId === 'number') delivery.aggregateId = aggregateId;
  if (sequence !== undefined) delivery.sequence = sequence;
  return delivery;
}

/** AMQP tables carry integers as numbers here, but other publishers may send strings or bigints. */
function toSequence(value: unknown): number | undefined {
  const sequence = typeof value === 'bigint' ? Number(value) : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  return typeof sequence === 'number' && Number.isSafeInteger(sequence) ? sequence : undefined;
}

interface Waiter {
  readonly satisfied: () => boolean;
  readonly settle: (error?: Error) => void;
}

class RabbitQueueCollector implements QueueCollector {
  readonly queue: string;
  readonly log: DeliveryLog;
  readonly messages: AsyncMessage[] = [];
  readonly errors: unknown[] = [];
  readonly #connection: Connection;
  readonly #ownsConnection: boolean;
  readonly #declare: QueueDeclaration | undefined;
  readonly #waiters = new Set<Waiter>();
  #consumer: Consumer | undefined;
  #closed = false;

  constructor(connection: Connection, ownsConnection: boolean, options: CollectQueueCommon) {
    this.#connection = connection;
    this.#ownsConnection = ownsConnection;
    this.#declare = options.declare;
    this.queue = options.queue;
    this.log = options.log ?? new DeliveryLog();
  }

  async start(readyTimeoutMs: number, url: string | undefined): Promise<void> {
    // An EventEmitter without an 'error' listener throws; the owner of a passed-in connection
    // listens to it already.
    if (this.#ownsConnection) this.#connection.on('error', (error) => this.errors.push(error));
    const consumer = this.#connection.createConsumer(this.#consumerProps(), (message) => this.#record(message));
    this.#consumer = consumer;
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          const where = url === undefined ? 'the given connection' : redactUrl(url);
          reject(new Error(`collectQueue(${this.queue}): consumer not ready after ${readyTimeoutMs} ms on ${where}`));
        }, readyTimeoutMs);
        consumer.once('ready', () => {
          clearTimeout(timer);
          resolve();
        });
        // Before 'ready', an error means the setup itself failed (missing exchange, queue
        // properties in conflict): report it instead of letting the client retry forever.
        consumer.once('error', (error: unknown) => {
          clearTimeout(timer);
          reject(new Error(`collectQueue(${this.queue}): consumer setup failed: ${errorText(error)}`, { cause: error }));
        });
      });
    } catch (error) {
      this.#abandon();
      throw error;
    }
    consumer.removeAllListeners('error');
    consumer.on('error', (error: unknown) => this.errors.push(error));
  }

  #consumerProps(): ConsumerProps {
    const declare = this.#declare;
    const props: ConsumerProps = {
      queue: this.queue,
      // One handler at a time: the log must hold deliveries in the order the broker sent them.
      concurrency: 1,
      qos: { prefetchCount: PREFETCH },
      // Passive: consuming someone else's queue must neither create it nor fight over its properties.
      queueOptions: declare ? { durable: declare.durable ?? false, exclusive: !declare.durable, autoDelete: !declare.durable } : { passive: true },
    };
    if (declare) {
      props.queueBindings = declare.bindingKeys.map((routingKey) => ({ exchange: declare.exchange, queue: this.queue, routingKey }));
      if (declare.exchangeType) props.exchanges = [{ exchange: declare.exchange, type: declare.exchangeType, durable: declare.durable ?? false }];
    }
    return props;
  }

  #record(message: AsyncMessage): void {
    this.messages.push(message);
    this.log.delivered(readDelivery(message));
    for (const waiter of this.#waiters) this.#settleIfSatisfied(waiter);
  }

  waitFor(condition: WaitCondition, timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<void> {
    const satisfied = typeof condition === 'number' ? () => this.messages.length >= condition : () => condition(this.log, this.messages);
    const wanted = typeof condition === 'number' ? `${condition} deliveries` : condition.name || 'the predicate';
    return new Promise<void>((resolve, reject) => {
      if (this.#closed) {
        reject(new Error(`collectQueue(${this.queue}): waitFor(${wanted}) on a closed collector`));
        return;
      }
      const timer = setTimeout(() => waiter.settle(new Error(this.#timeoutMessage(wanted, timeoutMs))), timeoutMs);
      const waiter: Waiter = {
        satisfied,
        settle: (error) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          if (error) reject(error);
          else resolve();
        },
      };
      this.#waiters.add(waiter);
      this.#settleIfSatisfied(waiter);
    });
  }

  #settleIfSatisfied(waiter: Waiter): void {
    try {
      if (waiter.satisfied()) waiter.settle();
    } catch (error) {
      waiter.settle(error instanceof Error ? error : new Error(String(error)));
    }
  }

  #timeoutMessage(wanted: string, timeoutMs: number): string {
    const parts = [
      `collectQueue(${this.queue}): timed out after ${timeoutMs} ms waiting for ${wanted}; ` +
        `received ${this.messages.length} deliveries (${this.log.distinctDelivered} distinct ids)`,
    ];
    const pending = describePending(this.log);
    if (pending !== '') parts.push(pending);
    if (this.errors.length > 0) parts.push(`consumer errors: ${this.errors.map(errorText).join('; ')}`);
    return parts.join('; ');
  }

  /**
   * Teardown after a failed setup. A graceful close would wait for a broker that may never answer
   * (the client's acquire timeout, 20 s by default), so the failure would be reported that late.
   */
  #abandon(): void {
    this.#closed = true;
    // Settles once the channel is gone; nothing is left to wait for or to report.
    this.#consumer?.close().catch(() => undefined);
    if (this.#ownsConnection) this.#connection.unsafeDestroy();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const waiter of this.#waiters) waiter.settle(new Error(`collectQueue(${this.queue}): closed while a waitFor was pending`));
    try {
      await this.#consumer?.close();
      if (this.#declare) {
        await this.#connection.queueDelete({ queue: this.queue });
        if (this.#declare.exchangeType) await this.#connection.exchangeDelete({ exchange: this.#declare.exchange });
      }
    } finally {
      if (this.#ownsConnection) await this.#connection.close();
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
