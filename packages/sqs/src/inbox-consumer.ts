import {
  ConsumerStartup,
  consumerSetupError,
  deadLetterHeaders,
  InboxDeliveries,
  MESSAGE_HEADERS,
  RESERVED_HEADER_PREFIX,
  RunningHandlers,
  type InboxConsumerHandle,
  type InboxConsumerStats,
  type SqlExecutor,
} from '@outboxkit/core';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { clientConfig, errorText } from './connection.js';
import { normalizeSqsInboxConsumerOptions, type NormalizedSqsInboxConsumerOptions, type SqsInboxConsumerOptions } from './inbox-options.js';
import { inboxQueues, type InboxQueues } from './queues.js';
import { isFifo } from './routing.js';
import { fromSqsMessage, MAX_MESSAGE_ATTRIBUTES, type StringAttribute } from './wire-format.js';

/** A running SQS inbox consumer: the same handle as every broker's. */
export type SqsInboxConsumer = InboxConsumerHandle;

/**
 * Consumes an SQS queue with an inbox: each message runs in one database transaction that first
 * records (consumer, event id), and is deleted only after that commit, so the handler's effect is
 * applied once however often SQS delivers it. Long polling; a slow handler's message is kept
 * invisible (ChangeMessageVisibility every half visibility timeout); a failed run is made visible
 * again after `retryDelayMs`. After `maxDeliveries` receives (SQS's ApproximateReceiveCount) a
 * copy goes to the dead-letter queue (the queue's redrive target unless `deadLetterQueue` is set)
 * with the error in `x-outbox-error`, then the original is deleted. Messages SNS delivered, raw or
 * as SNS notifications, are read the same way.
 *
 * @example
 * const consumer = createSqsInboxConsumer({
 *   connection: 'sqs://eu-west-1',
 *   queue: 'billing-orders.fifo',
 *   consumer: 'billing',
 *   db: pgDatabase(pool),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, tx) => { await tx.query('INSERT INTO invoices (order_id) VALUES ($1)', [event.aggregateId]); },
 * });
 * await consumer.ready();
 */
export function createSqsInboxConsumer<Tx = SqlExecutor>(options: SqsInboxConsumerOptions<Tx>): SqsInboxConsumer {
  return new QueueInboxConsumer(normalizeSqsInboxConsumerOptions(options));
}

/** How long the consumer waits before retrying its setup or a failed poll. */
const RETRY_MS = 1000;
/** Dead letters keep outboxkit's own attributes first; SQS carries 10 in all. */
const KEPT_FIRST = RESERVED_HEADER_PREFIX;

class QueueInboxConsumer<Tx> implements SqsInboxConsumer {
  readonly #config: NormalizedSqsInboxConsumerOptions<Tx>;
  readonly #client: SQSClient;
  readonly #secrets: readonly string[];
  readonly #closing = new AbortController();
  readonly #deliveries: InboxDeliveries<Tx>;
  readonly #running: RunningHandlers;
  readonly #startup = new ConsumerStartup();
  readonly #loop: Promise<void>;
  #closed: Promise<void> | null = null;

  constructor(config: NormalizedSqsInboxConsumerOptions<Tx>) {
    this.#config = config;
    const target = config.connection;
    this.#client = target.kind === 'owned' ? new SQSClient(clientConfig(target)) : target.instance;
    this.#secrets = target.kind === 'owned' ? target.secrets : [];
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
      // Ends a long poll at once; handlers running finish their commit and delete.
      this.#closing.abort();
      await this.#loop;
      await this.#running.drain();
      if (this.#config.connection.kind === 'owned') this.#client.destroy();
    })();
    return this.#closed;
  }

  async #run(): Promise<void> {
    const signal = this.#closing.signal;
    const { concurrency, visibilityTimeoutSeconds, waitTimeSeconds } = this.#config;
    while (!signal.aborted) {
      try {
        const queues = await inboxQueues(this.#client, this.#config.queue, this.#config.deadLetterQueue, signal);
        this.#startup.succeeded();
        while (!signal.aborted) {
          await this.#running.slot();
          const reply = await this.#client.send(
            new ReceiveMessageCommand({
              QueueUrl: queues.url,
              MaxNumberOfMessages: Math.min(10, this.#running.free, concurrency),
              WaitTimeSeconds: waitTimeSeconds,
              VisibilityTimeout: visibilityTimeoutSeconds,
              MessageAttributeNames: ['All'],
              MessageSystemAttributeNames: ['ApproximateReceiveCount'],
            }),
            { abortSignal: signal },
          );
          for (const message of reply.Messages ?? []) {
            this.#running.add(this.#handle(queues, message).catch((error: unknown) => this.#deliveries.report(error)));
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        this.#startup.failed(consumerSetupError('SQS', this.#config.consumer, errorText(error, this.#secrets), error));
        this.#deliveries.report(error);
        await this.#deliveries.wait(RETRY_MS);
      }
    }
  }

  async #handle(queues: InboxQueues, message: Message): Promise<void> {
    const { headers, body } = fromSqsMessage(message);
    const deliveries = Number(message.Attributes?.ApproximateReceiveCount ?? '1');
    const visible = (seconds: number) =>
      this.#client.send(new ChangeMessageVisibilityCommand({ QueueUrl: queues.url, ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: seconds }));
    const keepAlive = async () => void (await visible(this.#config.visibilityTimeoutSeconds));
    // A slow handler keeps its message: the visibility is renewed before half of it has passed.
    const renew = setInterval(
      () => void keepAlive().catch((error: unknown) => this.#deliveries.report(error)),
      (this.#config.visibilityTimeoutSeconds * 1000) / 2,
    );
    let verdict: Awaited<ReturnType<InboxDeliveries<Tx>['judge']>>;
    try {
      verdict = await this.#deliveries.judge({ message: { headers, body }, deliveries: Number.isFinite(deliveries) ? deliveries : 1, keepAlive });
    } finally {
      clearInterval(renew);
    }
    const remove = () => this.#client.send(new DeleteMessageCommand({ QueueUrl: queues.url, ReceiptHandle: message.ReceiptHandle }));
    if (verdict.kind === 'ack') {
      await remove();
      return;
    }
    if (verdict.kind === 'redeliver') {
      await visible(Math.ceil(verdict.delayMs / 1000));
      return;
    }
    // Stored before the original is deleted: a crash in between duplicates the dead letter instead of losing the message.
    await this.#client.send(new SendMessageCommand(deadLetter(queues.deadLetterUrl, message, verdict.reason, deliveries, this.#config.queue)));
    this.#deliveries.deadLettered(headers[MESSAGE_HEADERS.eventId], verdict.reason, deliveries);
    await remove();
  }
}

/**
 * The dead letter of `message`: its body unchanged, the dead-letter attributes (`x-outbox-error`,
 * ...) and as many of its own attributes as SQS's 10 leave room for, outboxkit's `x-outbox-*`
 * ones first (the event's own headers, such as trace context, are what is dropped).
 */
function deadLetter(url: string, message: Message, reason: string, deliveries: number, source: string) {
  const extra = deadLetterHeaders(reason.slice(0, 4000), deliveries, source);
  const original = Object.entries(message.MessageAttributes ?? {})
    .filter(([name, value]) => value.StringValue !== undefined && !(name in extra))
    .sort(([a], [b]) => Number(!a.startsWith(KEPT_FIRST)) - Number(!b.startsWith(KEPT_FIRST)));
  const attributes: Record<string, StringAttribute> = {};
  for (const [name, value] of Object.entries(extra)) attributes[name] = { DataType: 'String', StringValue: value };
  for (const [name, value] of original.slice(0, MAX_MESSAGE_ATTRIBUTES - Object.keys(extra).length))
    attributes[name] = { DataType: 'String', StringValue: value.StringValue! };
  const fifo = isFifo(url) ? { MessageGroupId: 'dead-letters', MessageDeduplicationId: message.MessageId ?? String(Date.now()) } : {};
  return { QueueUrl: url, MessageBody: message.Body ?? '', MessageAttributes: attributes, ...fifo };
}
