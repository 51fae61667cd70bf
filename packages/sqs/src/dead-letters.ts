import { deadLetterLimit, deadLetterOf, DEAD_LETTER_HEADERS, replaySelected, OutboxConfigError, type DeadLetter, type RedeliverResult } from '@outboxkit/core';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { clientConfig, errorText, normalizeAwsClient } from './connection.js';
import { inboxQueues, queueUrl } from './queues.js';
import { isFifo, messageGroupId } from './routing.js';
import { fromSqsMessage, type StringAttribute } from './wire-format.js';

export interface SqsDeadLetterOptions {
  /** An `sqs://` URL (as the inbox consumer's) or an SQSClient you own. */
  readonly connection: string | SQSClient;
  /** The inbox consumer's queue (name or URL). */
  readonly queue: string;
  /** Its dead-letter queue; by default the queue's redrive target, as the consumer uses. */
  readonly deadLetterQueue?: string;
  /** Most messages to look at. @default 1000 */
  readonly limit?: number;
}

export interface SqsRedeliverOptions extends SqsDeadLetterOptions {
  /** Only these event ids; the others stay in the dead-letter queue. @default all */
  readonly ids?: readonly string[];
}

/** Seconds a listed dead letter stays invisible to others while it is looked at; it is made visible again right after. */
const LOOK_SECONDS = 30;

/**
 * Lists the dead letters of an SQS inbox consumer without removing them: each message is
 * received (hidden for a moment, which counts as a receive in SQS's statistics) and made visible
 * again at once.
 *
 * @example
 * const letters = await listDeadLetters({ connection: 'sqs://eu-west-1', queue: 'billing-orders.fifo' });
 */
export async function listDeadLetters(options: SqsDeadLetterOptions): Promise<DeadLetter[]> {
  return withDeadLetters(options, async (messages) => messages.map(({ letter }) => letter));
}

/**
 * Sends dead letters back to the queue they were consumed from (`x-outbox-source`) with their
 * original ids and attributes, without the dead-letter ones (a fresh delivery count); each send
 * is acknowledged by SQS before the dead letter is deleted, so a failure in between duplicates
 * it, never loses it. On a FIFO queue the copy goes to the aggregate's message group, with a new
 * deduplication id: SQS would drop a re-send of the same id within 5 minutes. The consumer's
 * inbox drops any it already applied.
 *
 * @example
 * await redeliverDeadLetters({ connection: 'sqs://eu-west-1', queue: 'billing-orders.fifo', ids: ['0190…'] });
 */
export async function redeliverDeadLetters(options: SqsRedeliverOptions): Promise<RedeliverResult> {
  return withDeadLetters(options, (messages, { client, deadLetterUrl, removed }) => {
    const sources = new Map<string, Promise<string>>();
    return replaySelected(messages, options.ids, async ({ message, letter }) => {
      const source = letter.sourceQueue!;
      if (!sources.has(source)) sources.set(source, queueUrl(client, source));
      await client.send(new SendMessageCommand(redelivery(await sources.get(source)!, message, letter)));
      await client.send(new DeleteMessageCommand({ QueueUrl: deadLetterUrl, ReceiptHandle: message.ReceiptHandle }));
      removed.add(message);
    });
  });
}

/** The copy of a dead letter for its source queue: body and attributes as sent, without the dead-letter attributes. */
function redelivery(url: string, message: Message, letter: DeadLetter) {
  const deadLetterNames = new Set<string>(Object.values(DEAD_LETTER_HEADERS));
  const attributes: Record<string, StringAttribute> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined && !deadLetterNames.has(name)) attributes[name] = { DataType: 'String', StringValue: value.StringValue };
  }
  const group = letter.aggregateType !== null && letter.aggregateId !== null ? { aggregateType: letter.aggregateType, aggregateId: letter.aggregateId } : null;
  const fifo = isFifo(url)
    ? { MessageGroupId: group === null ? 'dead-letters' : messageGroupId(group), MessageDeduplicationId: `${letter.id}.${Date.now().toString(36)}` }
    : {};
  return { QueueUrl: url, MessageBody: message.Body ?? '', MessageAttributes: attributes, ...fifo };
}

/** Where the work runs: the dead-letter queue's client and URL, and the messages it deleted (the others are made visible again). */
interface DeadLetterQueue {
  readonly client: SQSClient;
  readonly deadLetterUrl: string;
  readonly removed: Set<Message>;
}

async function withDeadLetters<T>(
  options: SqsDeadLetterOptions,
  work: (messages: { message: Message; letter: DeadLetter }[], queue: DeadLetterQueue) => Promise<T>,
): Promise<T> {
  if (typeof options?.queue !== 'string' || options.queue.trim() === '') throw new OutboxConfigError('queue', "the inbox consumer's queue (a name or URL)");
  if (options.deadLetterQueue !== undefined && (typeof options.deadLetterQueue !== 'string' || options.deadLetterQueue.trim() === '')) {
    throw new OutboxConfigError('deadLetterQueue', 'must be a queue name or URL');
  }
  const limit = deadLetterLimit(options.limit);
  const target = normalizeAwsClient<SQSClient>(options.connection, 'sqs');
  const client = target.kind === 'owned' ? new SQSClient(clientConfig(target)) : target.instance;
  const secrets = target.kind === 'owned' ? target.secrets : [];
  let deadLetterUrl: string | undefined;
  const received: { message: Message; letter: DeadLetter }[] = [];
  const removed = new Set<Message>();
  try {
    const queues = await inboxQueues(client, options.queue, options.deadLetterQueue ?? null);
    deadLetterUrl = queues.deadLetterUrl;
    while (received.length < limit) {
      const reply = await client.send(
        new ReceiveMessageCommand({
          QueueUrl: deadLetterUrl,
          MaxNumberOfMessages: Math.min(10, limit - received.length),
          VisibilityTimeout: LOOK_SECONDS,
          WaitTimeSeconds: 1,
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = reply.Messages ?? [];
      if (messages.length === 0) break;
      for (const message of messages) {
        const { headers, body } = fromSqsMessage(message);
        received.push({ message, letter: deadLetterOf({ headers, body, nativeId: undefined }) });
      }
    }
    return await work(received, { client, deadLetterUrl, removed });
  } catch (error) {
    if (error instanceof OutboxConfigError) throw error;
    throw new Error(`dead letters of SQS queue "${options.queue}"${deadLetterUrl ? ` (${deadLetterUrl})` : ''}: ${errorText(error, secrets)}`, {
      cause: error,
    });
  } finally {
    // What was looked at and kept is visible again at once, in its place.
    const kept = received.filter(({ message }) => !removed.has(message));
    for (let i = 0; i < kept.length && deadLetterUrl !== undefined; i += 10) {
      await client
        .send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: deadLetterUrl,
            Entries: kept.slice(i, i + 10).map(({ message }, n) => ({ Id: String(n), ReceiptHandle: message.ReceiptHandle, VisibilityTimeout: 0 })),
          }),
        )
        .catch(() => undefined);
    }
    if (target.kind === 'owned') client.destroy();
  }
}
