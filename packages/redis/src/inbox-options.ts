import { hostname } from 'node:os';
import {
  integerOption,
  normalizeRedeliveryInboxOptions,
  OutboxConfigError,
  type NormalizedRedeliveryInboxOptions,
  type EventMap,
  type RedeliveryInboxOptions,
  type SqlExecutor,
} from '@outboxkit/core';
import { normalizeRedisConnection, type RedisClient, type RedisConnectionTarget } from './connection.js';

export interface RedisInboxConsumerOptions<Tx = SqlExecutor, Events extends EventMap = EventMap> extends RedeliveryInboxOptions<Tx, Events> {
  /**
   * A node-redis client you own, or a redis:// URL. The consumer opens a second connection (a
   * duplicate of the client) for its blocking reads.
   */
  connection: RedisClient | string;
  /** The stream key to consume, e.g. `outbox:order`. */
  stream: string;
  /** The consumer group: every process of one service shares it. @default `consumer` */
  group?: string;
  /** This process's name within the group. @default `<host>-<pid>` */
  consumerName?: string;
  /**
   * Entries another consumer of the group has held this long without acking are taken over
   * (`XAUTOCLAIM`): that consumer died or hangs. Keep it well above the slowest handler.
   * @default 30000
   */
  claimIdleMs?: number;
  /** Longest wait of one blocking read (`XREADGROUP BLOCK`); bounds how late a due retry starts. @default 1000 */
  blockMs?: number;
  /** Stream dead letters are added to (original fields plus `x-outbox-error` and friends). @default `<stream>:dead` */
  deadLetterStream?: string;
}

export interface NormalizedRedisInboxConsumerOptions<Tx> extends NormalizedRedeliveryInboxOptions<Tx> {
  readonly connection: RedisConnectionTarget;
  readonly stream: string;
  readonly group: string;
  readonly consumerName: string;
  readonly claimIdleMs: number;
  readonly blockMs: number;
  readonly deadLetterStream: string;
}

const BROKER_KEYS = ['connection', 'stream', 'group', 'consumerName', 'claimIdleMs', 'blockMs', 'deadLetterStream'];

/** Validates `createRedisInboxConsumer` options once; throws {@link OutboxConfigError} naming the option. */
export function normalizeRedisInboxConsumerOptions<Tx, Events extends EventMap = EventMap>(
  options: RedisInboxConsumerOptions<Tx, Events>,
): NormalizedRedisInboxConsumerOptions<Tx> {
  const common = normalizeRedeliveryInboxOptions(options, BROKER_KEYS);
  const stream = key(options.stream, 'stream');
  return Object.freeze({
    ...common,
    connection: normalizeRedisConnection(options.connection),
    stream,
    group: key(options.group ?? common.consumer, 'group'),
    consumerName: key(options.consumerName ?? `${hostname()}-${process.pid}`, 'consumerName'),
    claimIdleMs: integerOption(options.claimIdleMs, 'claimIdleMs', 30_000, 100, 24 * 3_600_000),
    blockMs: integerOption(options.blockMs, 'blockMs', 1000, 10, 60_000),
    deadLetterStream: key(options.deadLetterStream ?? `${stream}:dead`, 'deadLetterStream'),
  });
}

function key(value: unknown, option: string): string {
  if (typeof value !== 'string' || value.trim() === '' || value.length > 1024) {
    throw new OutboxConfigError(option, `must be a non-blank string of at most 1024 characters, got ${JSON.stringify(value)}`);
  }
  return value;
}
