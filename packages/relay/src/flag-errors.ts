import { OutboxConfigError } from '@outboxkit/core';

/** Which flag sets which library option: the CLI user typed `--batch-size`, not `batchSize`. */
export type FlagNames = Readonly<Record<string, string>>;

/** `outbox-relay run`'s flags for the Relay's options (core's normalizeRelayOptions names these). */
export const RELAY_OPTION_FLAGS: FlagNames = {
  relayId: '--relay-id',
  batchSize: '--batch-size',
  maxInFlight: '--max-in-flight',
  pollIntervalMs: '--poll-interval-ms',
  leaseTtlMs: '--lease-ttl-ms',
  maxAttempts: '--max-attempts',
  poisonPolicy: '--poison-policy',
};

/** The operations commands' flags for the admin API's options (`createOutboxAdmin`). */
export const ADMIN_OPTION_FLAGS: FlagNames = {
  ids: '--id',
  aggregate: '--aggregate',
  'ids/aggregate/since': '--id/--aggregate/--since',
  since: '--since',
  until: '--until',
  destination: '--destination',
  pageSize: '--page-size',
  maxInFlight: '--max-in-flight',
  consumer: '--consumer',
  processedIds: '--ids-file',
  limit: '--limit',
  by: '--by',
  reason: '--reason',
  historyRetention: '--history-retention',
  inboxRetention: '--inbox-retention',
  batchSize: '--batch-size',
};

/** `dead-letters`' flags for @outboxkit/rabbitmq's dead-letter functions. */
export const DEAD_LETTER_OPTION_FLAGS: FlagNames = { queue: '--queue', deadLetterQueue: '--dead-letter-queue', limit: '--limit' };

/**
 * The same configuration error under the flag's name when `flags` knows its option; anything
 * else is returned unchanged (the library's error stays the cause).
 *
 * @example
 * try { new Relay(options) } catch (error) { throw underFlag(error, RELAY_OPTION_FLAGS) }
 * // "batchSize: must be an integer from 1 to 10000, got 0" -> "--batch-size: must be ..."
 */
export function underFlag(error: unknown, flags: FlagNames): unknown {
  if (!(error instanceof OutboxConfigError)) return error;
  const flag = flags[error.option];
  if (flag === undefined) return error;
  return new OutboxConfigError(flag, error.message.slice(error.option.length + 2), { cause: error });
}
