import { deadLetterLimit, replaySelected, OutboxConfigError, redactUrl, scrub, secretsOf, type DeadLetter, type RedeliverResult } from '@outboxkit/core';
import { Connection, type AsyncMessage, type Channel, type SyncMessage } from 'rabbitmq-client';
import { copyOf, decodeInboxEvent, INBOX_HEADERS, UndecodableMessage } from './inbox-message.js';

export type { DeadLetter, RedeliverResult } from '@outboxkit/core';

export interface DeadLetterQueueOptions {
  /** A RabbitMQ URL (opened and closed here) or a connection you own. */
  readonly connection: string | Connection;
  /** The inbox consumer's queue; its dead letters are in `<queue>.dead` unless `deadLetterQueue` says otherwise. */
  readonly queue: string;
  readonly deadLetterQueue?: string;
  /** Most messages to look at. @default 1000 */
  readonly limit?: number;
}

export interface RedeliverOptions extends DeadLetterQueueOptions {
  /** Only these event ids; the others stay in the dead-letter queue. @default all */
  readonly ids?: readonly string[];
}

/**
 * Lists the dead letters of an inbox consumer without removing them: each message is fetched
 * unacknowledged and returned to the queue, in its place, when the channel closes.
 *
 * @example
 * const letters = await listDeadLetters({ connection: 'amqp://guest:guest@127.0.0.1:5672', queue: 'billing' });
 */
export async function listDeadLetters(options: DeadLetterQueueOptions): Promise<DeadLetter[]> {
  return withDeadLetters(options, async (messages) => messages.map(({ letter }) => letter));
}

/**
 * Sends dead letters back to the queue they were consumed from, with their original ids and
 * without the consumer's attempt and hold counters (a fresh budget), each confirmed by the broker
 * before it leaves the dead-letter queue. The consumer's inbox drops any it already applied.
 *
 * @example
 * await redeliverDeadLetters({ connection: url, queue: 'billing', ids: ['0190…'] });
 */
export async function redeliverDeadLetters(options: RedeliverOptions): Promise<RedeliverResult> {
  return withDeadLetters(options, (messages, channel) =>
    replaySelected(messages, options.ids, async ({ message, letter }) => {
      const { envelope, body } = copyOf(message as unknown as AsyncMessage, {});
      const headers = { ...envelope.headers };
      for (const name of Object.values(INBOX_HEADERS)) delete headers[name];
      // Confirm mode: resolves once the broker has the copy, so acking the dead letter loses nothing.
      await channel.basicPublish({ ...envelope, headers, exchange: '', routingKey: letter.sourceQueue! }, body);
      channel.basicAck({ deliveryTag: message.deliveryTag });
    }),
  );
}

async function withDeadLetters<T>(
  options: DeadLetterQueueOptions,
  work: (messages: { message: SyncMessage; letter: DeadLetter }[], channel: Channel) => Promise<T>,
): Promise<T> {
  const { queue, deadLetterQueue, limit } = checkOptions(options);
  const owned = typeof options.connection === 'string';
  const connection = typeof options.connection === 'string' ? new Connection(options.connection) : options.connection;
  const secrets = typeof options.connection === 'string' ? secretsOf(options.connection) : [];
  // An owned connection's errors are reported by the awaits below; an unhandled 'error' would crash.
  const ignore = (): void => undefined;
  if (owned) connection.on('error', ignore);
  try {
    const channel = await connection.acquire();
    try {
      await channel.confirmSelect();
      const messages: { message: SyncMessage; letter: DeadLetter }[] = [];
      while (messages.length < limit) {
        const message = await channel.basicGet({ queue: deadLetterQueue, noAck: false });
        if (message === undefined) break;
        messages.push({ message, letter: describe(message) });
      }
      return await work(messages, channel);
    } finally {
      // Unacknowledged messages go back to the queue in their places.
      await channel.close();
    }
  } catch (error) {
    if (error instanceof OutboxConfigError) throw error;
    const where = owned ? ` at ${redactUrl(options.connection as string)}` : '';
    throw new Error(`dead letters of queue "${queue}" (${deadLetterQueue})${where}: ${scrub((error as Error)?.message ?? String(error), secrets)}`, {
      cause: error,
    });
  } finally {
    if (owned) {
      await connection.close();
      connection.off('error', ignore);
    }
  }
}

function checkOptions(options: DeadLetterQueueOptions): { queue: string; deadLetterQueue: string; limit: number } {
  if (typeof options?.queue !== 'string' || options.queue.trim() === '' || options.queue.length > 250) {
    throw new OutboxConfigError('queue', "the inbox consumer's queue name (1-250 characters); its dead letters are in <queue>.dead");
  }
  const limit = deadLetterLimit(options.limit);
  if (options.deadLetterQueue !== undefined && (typeof options.deadLetterQueue !== 'string' || options.deadLetterQueue.trim() === '')) {
    throw new OutboxConfigError('deadLetterQueue', 'must be a queue name');
  }
  return { queue: options.queue, deadLetterQueue: options.deadLetterQueue ?? `${options.queue}.dead`, limit };
}

function describe(message: SyncMessage): DeadLetter {
  const headers = (message.headers ?? {}) as Record<string, unknown>;
  const text = (name: string): string | null => (typeof headers[name] === 'string' && headers[name] !== '' ? (headers[name] as string) : null);
  const time = (value: string | null): Date | null => (value === null || Number.isNaN(Date.parse(value)) ? null : new Date(value));
  const event = decodeInboxEvent(message as unknown as AsyncMessage);
  const decoded = event instanceof UndecodableMessage ? null : event;
  return {
    id: decoded?.id ?? (message.messageId || null),
    type: decoded?.type ?? (message.type || null),
    aggregateType: decoded?.aggregateType ?? null,
    aggregateId: decoded?.aggregateId ?? null,
    sequence: decoded?.sequence ?? null,
    occurredAt: decoded?.occurredAt ?? null,
    deadLetteredAt: time(text(INBOX_HEADERS.deadLetteredAt)),
    error: text(INBOX_HEADERS.error),
    attempts: Number(headers[INBOX_HEADERS.attempts] ?? 0) || 0,
    sourceQueue: text(INBOX_HEADERS.sourceQueue),
  };
}
