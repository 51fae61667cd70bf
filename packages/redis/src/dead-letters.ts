import {
  deadLetterLimit,
  deadLetterOf,
  DEAD_LETTER_HEADERS,
  replaySelected,
  OutboxConfigError,
  redactUrl,
  scrub,
  secretsOf,
  type DeadLetter,
  type RedeliverResult,
} from '@outboxkit/core';
import { createClient } from 'redis';
import { normalizeRedisConnection, type RedisClient } from './connection.js';
import { fromStreamFields } from './wire-format.js';

export interface RedisDeadLetterOptions {
  /** A `redis://` URL (opened and closed here) or a client you own. */
  readonly connection: string | RedisClient;
  /** The inbox consumer's stream; its dead letters are in `<stream>:dead` unless `deadLetterStream` says otherwise. */
  readonly stream: string;
  readonly deadLetterStream?: string;
  /** Most entries to look at. @default 1000 */
  readonly limit?: number;
}

export interface RedisRedeliverOptions extends RedisDeadLetterOptions {
  /** Only these event ids; the others stay in the dead-letter stream. @default all */
  readonly ids?: readonly string[];
}

/**
 * Lists the dead letters of a Redis Streams inbox consumer, oldest first, without removing them.
 *
 * @example
 * const letters = await listDeadLetters({ connection: 'redis://127.0.0.1:6379', stream: 'outbox:order' });
 */
export async function listDeadLetters(options: RedisDeadLetterOptions): Promise<DeadLetter[]> {
  return withDeadLetters(options, async (entries) => entries.map(({ letter }) => letter));
}

/**
 * Adds dead letters back to the stream they were consumed from (`x-outbox-source`,
 * `<stream>/<entry id>`) with their original fields, without the dead-letter ones (a fresh
 * delivery count), then deletes them from the dead-letter stream: a failure in between duplicates
 * one, never loses it. The consumer group reads the copy as a new entry; its inbox drops any
 * event it already applied.
 *
 * @example
 * await redeliverDeadLetters({ connection: 'redis://127.0.0.1:6379', stream: 'outbox:order', ids: ['0190…'] });
 */
export async function redeliverDeadLetters(options: RedisRedeliverOptions): Promise<RedeliverResult> {
  const deadLetterNames = new Set<string>(Object.values(DEAD_LETTER_HEADERS));
  return withDeadLetters(options, (entries, client, deadLetterStream) =>
    replaySelected(entries, options.ids, async ({ id, fields, letter }) => {
      const source = letter.sourceQueue!.slice(0, letter.sourceQueue!.lastIndexOf('/'));
      await client.xAdd(source, '*', Object.fromEntries(Object.entries(fields).filter(([name]) => !deadLetterNames.has(name))));
      await client.xDel(deadLetterStream, id);
    }),
  );
}

async function withDeadLetters<T>(
  options: RedisDeadLetterOptions,
  work: (entries: { id: string; fields: Record<string, string>; letter: DeadLetter }[], client: RedisClient, deadLetterStream: string) => Promise<T>,
): Promise<T> {
  if (typeof options?.stream !== 'string' || options.stream.trim() === '') throw new OutboxConfigError('stream', "the inbox consumer's stream key");
  if (options.deadLetterStream !== undefined && (typeof options.deadLetterStream !== 'string' || options.deadLetterStream.trim() === '')) {
    throw new OutboxConfigError('deadLetterStream', 'must be a stream key');
  }
  const limit = deadLetterLimit(options.limit);
  const deadLetterStream = options.deadLetterStream ?? `${options.stream}:dead`;
  const target = normalizeRedisConnection(options.connection);
  const client: RedisClient =
    target.kind === 'owned' ? createClient({ url: target.url, socket: { connectTimeout: 5000, reconnectStrategy: false } }) : target.instance;
  const secrets = target.kind === 'owned' ? secretsOf(target.url) : [];
  try {
    if (target.kind === 'owned') {
      client.on('error', () => undefined); // reported by the awaits below
      await client.connect();
    }
    const entries = ((await client.xRange(deadLetterStream, '-', '+', { COUNT: limit })) ?? []).flatMap((entry) => {
      if (entry === null) return [];
      const fields = entry.message as Record<string, string>;
      // The entry id is the dead-letter stream's, not the event's: the event id is in the fields.
      return [{ id: entry.id, fields, letter: deadLetterOf({ ...fromStreamFields(fields), nativeId: undefined }) }];
    });
    return await work(entries, client, deadLetterStream);
  } catch (error) {
    if (error instanceof OutboxConfigError) throw error;
    const where = target.kind === 'owned' ? ` at ${redactUrl(target.url)}` : '';
    throw new Error(`dead letters of stream "${options.stream}" (${deadLetterStream})${where}: ${scrub((error as Error)?.message ?? String(error), secrets)}`, {
      cause: error,
    });
  } finally {
    if (target.kind === 'owned' && client.isOpen) await client.close();
  }
}
