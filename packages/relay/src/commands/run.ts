import { localCommits, Relay, type CycleResult } from '@outboxkit/core';
import { createRabbitPublisher } from '@outboxkit/rabbitmq';
import type { Logger } from 'pino';
import { openDatabase } from '../connect.js';
import { DEFAULT_BROKER_URL, requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';

export interface RunFlags extends DatabaseFlags {
  brokerUrl?: string;
  exchange?: string;
  batchSize?: number;
  maxInFlight?: number;
  pollIntervalMs?: number;
  leaseTtlMs?: number;
  maxAttempts?: number;
  poisonPolicy?: 'park' | 'dead-letter';
  history?: boolean;
  migrate?: boolean;
  once?: boolean;
  relayId?: string;
}

/**
 * `outbox-relay run`: publishes until SIGINT/SIGTERM (graceful: the in-flight batch finishes,
 * leases are released), or with `--once` until nothing is claimable.
 */
export async function runCommand(flags: RunFlags, logger: Logger, signal: AbortSignal): Promise<CycleResult | void> {
  const target = await openDatabase(requireDatabaseUrl(flags), { tables: tableOptions(flags), listen: !flags.once });
  const publisher = createRabbitPublisher({
    connection: flags.brokerUrl ?? DEFAULT_BROKER_URL,
    ...(flags.exchange ? { exchange: flags.exchange } : {}),
  });
  try {
    if (flags.migrate) {
      const applied = await target.dialect.migrate(target.database);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    const relay = new Relay({
      dialect: target.dialect,
      database: target.database,
      publisher,
      logger,
      wakeSources: [localCommits, ...target.wakeSources],
      ...(flags.relayId ? { relayId: flags.relayId } : {}),
      ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
      ...(flags.maxInFlight !== undefined ? { maxInFlight: flags.maxInFlight } : {}),
      ...(flags.pollIntervalMs !== undefined ? { pollIntervalMs: flags.pollIntervalMs } : {}),
      ...(flags.leaseTtlMs !== undefined ? { leaseTtlMs: flags.leaseTtlMs } : {}),
      ...(flags.maxAttempts !== undefined ? { maxAttempts: flags.maxAttempts } : {}),
      ...(flags.poisonPolicy ? { poisonPolicy: flags.poisonPolicy } : {}),
      ...(flags.history === false ? { keepHistory: false } : {}),
    });
    logger.info({ database: target.safeUrl, dialect: target.dialect.name, relayId: relay.id }, 'relay starting');
    if (flags.once) {
      const result = await relay.drain();
      logger.info(result, 'drain finished');
      return result;
    }
    await relay.start();
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
    logger.info({ relayId: relay.id }, 'stopping: finishing the in-flight batch');
    await relay.stop();
  } finally {
    await publisher.close();
    await target.database.close();
  }
}
