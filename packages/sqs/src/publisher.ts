import { GetQueueUrlCommand, SendMessageBatchCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { StoredEvent } from '@outboxkit/core';
import { AwsMessagePublisher, entryError, type AwsPublisher, type AwsServiceAdapter, type OutgoingMessage } from './aws-publisher.js';
import { clientConfig, errorText } from './connection.js';
import { normalizeSqsPublisherOptions, type SqsPublisherOptions } from './options.js';
import { resolveQueue } from './routing.js';

/** A {@link AwsPublisher} sending to SQS queues. */
export type SqsPublisher = AwsPublisher;

/** SQS takes at most 256 KiB in one SendMessageBatch request, whatever a queue's message size. */
const MAX_BATCH_BYTES = 256 * 1024;
const QUEUE_URL = /^https?:\/\//;

/**
 * Creates the SQS publisher: each event becomes one message on the queue its routing rule names
 * (default `outbox-<aggregateType>`, `.fifo` with `fifo: true`), the payload as the body and the
 * headers as message attributes; on a FIFO queue the group is the aggregate and the
 * deduplication id the event id. Concurrent publishes to one queue go out in `SendMessageBatch`
 * requests. Queues are never created: create them (with their redrive policy) beforehand.
 *
 * @example
 * const publisher = createSqsPublisher({ connection: 'sqs://eu-west-1', fifo: true });
 * await publisher.publish(event); // SendMessage to outbox-order.fifo, MessageGroupId order:<id>
 */
export function createSqsPublisher(options: SqsPublisherOptions): SqsPublisher {
  const config = normalizeSqsPublisherOptions(options);
  const target = config.connection;
  const client = target.kind === 'owned' ? new SQSClient(clientConfig(target)) : target.instance;
  const secrets = target.kind === 'owned' ? target.secrets : [];
  const urls = new Map<string, Promise<string>>();

  /** The queue's URL: given, or asked once per name (GetQueueUrl) and cached. */
  const queueUrl = (queue: string, signal: AbortSignal): Promise<string> => {
    if (QUEUE_URL.test(queue)) return Promise.resolve(queue);
    let url = urls.get(queue);
    if (url === undefined) {
      url = client.send(new GetQueueUrlCommand({ QueueName: queue }), { abortSignal: signal }).then(({ QueueUrl }) => QueueUrl!);
      urls.set(queue, url);
      // A failed look-up (queue missing, endpoint down) is asked again by the next publish.
      url.catch(() => urls.delete(queue));
    }
    return url;
  };
  /** A queue deleted since its URL was cached is looked up again next time. */
  const forgetOnMissing = (queue: string) => (error: unknown) => {
    if (error instanceof Error && /QueueDoesNotExist|NonExistentQueue/.test(error.name)) urls.delete(queue);
    throw error;
  };

  const entry = (message: OutgoingMessage) => ({
    MessageBody: message.body,
    MessageAttributes: message.attributes,
    ...(message.fifo === null ? {} : { MessageGroupId: message.fifo.groupId, MessageDeduplicationId: message.fifo.deduplicationId }),
  });

  const adapter: AwsServiceAdapter = {
    service: 'SQS',
    system: 'aws_sqs',
    where: target.kind === 'owned' ? target.where : 'the given SQSClient',
    sendTimeoutMs: config.sendTimeoutMs,
    maxMessageBytes: config.maxMessageBytes,
    maxBatchSize: config.maxBatchSize,
    messageFormat: config.messageFormat,
    maxBatchBytes: MAX_BATCH_BYTES,
    destination: (event: StoredEvent) => resolveQueue(event, config.routing),
    async sendOne(queue, message, signal) {
      const QueueUrl = await queueUrl(queue, signal);
      await client.send(new SendMessageCommand({ QueueUrl, ...entry(message) }), { abortSignal: signal }).catch(forgetOnMissing(queue));
    },
    async sendMany(queue, messages, signal) {
      const QueueUrl = await queueUrl(queue, signal);
      const Entries = messages.map((message, i) => ({ Id: String(i), ...entry(message) }));
      const reply = await client.send(new SendMessageBatchCommand({ QueueUrl, Entries }), { abortSignal: signal }).catch(forgetOnMissing(queue));
      const failed = new Map((reply.Failed ?? []).map((f) => [f.Id, entryError(f.Code, f.Message, f.SenderFault)]));
      const accepted = new Set((reply.Successful ?? []).map((s) => s.Id));
      return Entries.map(({ Id }) => failed.get(Id) ?? (accepted.has(Id) ? null : entryError(undefined, 'SQS answered the batch without this entry', false)));
    },
    // Any answer, "no such queue" included, proves the endpoint and the credentials good.
    probe: (signal) => client.send(new GetQueueUrlCommand({ QueueName: 'outboxkit-probe' }), { abortSignal: signal }),
    text: (error) => errorText(error, secrets),
    close: () => {
      if (target.kind === 'owned') client.destroy();
    },
  };
  return new AwsMessagePublisher(adapter);
}
