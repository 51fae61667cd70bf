import { integerOption, localCommits, Relay, RELAY_DEFAULTS, type CycleResult, type RelayOptions } from '@outboxkit/core';
import type { Logger } from 'pino';
import { createBrokerPublisher, type BrokerFlags } from '../brokers.js';
import { openDatabaseAfter } from '../connect.js';
import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';
import { RELAY_OPTION_FLAGS, underFlag } from '../flag-errors.js';
import { DEFAULT_STATUS_INTERVAL_MS, startRelayObservability, type RelayObservability } from '../observability/index.js';

export interface RunFlags extends DatabaseFlags, BrokerFlags {
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
  /** Serve /metrics, /healthz and /readyz on this port (0: any free port, logged). Off when absent. */
  metricsPort?: number;
  /** @default '0.0.0.0' */
  metricsHost?: string;
  /** How often the metrics' backlog figures are re-read from the database. */
  statusIntervalMs?: number;
}

/**
 * `outbox-relay run`: publishes until SIGINT/SIGTERM (graceful: the in-flight batch finishes,
 * leases are released), or with `--once` until nothing is claimable.
 */
export async function runCommand(flags: RunFlags, logger: Logger, signal: AbortSignal): Promise<CycleResult | undefined> {
  // Checked before connecting, so a typo fails fast with exit code 2.
  const metricsPort = flags.metricsPort === undefined ? undefined : integerOption(flags.metricsPort, '--metrics-port', 0, 0, 65_535);
  const statusIntervalMs = integerOption(flags.statusIntervalMs, '--status-interval-ms', DEFAULT_STATUS_INTERVAL_MS, 100, 3_600_000);
  const databaseUrl = requireDatabaseUrl(flags);
  const tables = tableOptions(flags);
  // Before the database: a broker flag for the wrong broker fails fast with exit code 2.
  const publisher = await createBrokerPublisher(flags);
  const target = await openDatabaseAfter(publisher, databaseUrl, { tables, listen: !flags.once });
  let observability: RelayObservability | undefined;
  try {
    if (flags.migrate) {
      const applied = await target.dialect.migrate(target.database);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    }
    // A one-shot drain has nothing to report to a scraper, so --once ignores --metrics-port.
    if (metricsPort !== undefined && !flags.once) {
      observability = await startRelayObservability({
        port: metricsPort,
        host: flags.metricsHost ?? '0.0.0.0',
        dialect: target.dialect,
        database: target.database,
        pollIntervalMs: flags.pollIntervalMs ?? RELAY_DEFAULTS.pollIntervalMs,
        statusIntervalMs,
        onDatabaseChange: (up, error) =>
          up ? logger.info({}, 'status sample: database reachable') : logger.warn({ err: error }, 'status sample failed: database unreachable or slow'),
      });
      logger.info({ host: flags.metricsHost ?? '0.0.0.0', port: observability.port, paths: ['/metrics', '/healthz', '/readyz'] }, 'metrics server listening');
    }
    const relay = relayFor({
      dialect: target.dialect,
      database: target.database,
      publisher,
      logger,
      wakeSources: [localCommits, ...target.wakeSources],
      ...(flags.relayId !== undefined ? { relayId: flags.relayId } : {}),
      ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
      ...(flags.maxInFlight !== undefined ? { maxInFlight: flags.maxInFlight } : {}),
      ...(flags.pollIntervalMs !== undefined ? { pollIntervalMs: flags.pollIntervalMs } : {}),
      ...(flags.leaseTtlMs !== undefined ? { leaseTtlMs: flags.leaseTtlMs } : {}),
      ...(flags.maxAttempts !== undefined ? { maxAttempts: flags.maxAttempts } : {}),
      ...(flags.poisonPolicy ? { poisonPolicy: flags.poisonPolicy } : {}),
      ...(flags.history === false ? { keepHistory: false } : {}),
      ...(observability ? { observer: observability.metrics.observer } : {}),
    });
    observability?.bindRelay(() => relay.health());
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
    // Closed after the relay stopped, so /readyz says "not ready" while the last batch finishes.
    await observability?.close();
    await publisher.close();
    await target.database.close();
  }
}

/** The relay, or its option error under the flag's name. */
function relayFor(options: RelayOptions): Relay {
  try {
    return new Relay(options);
  } catch (error) {
    throw underFlag(error, RELAY_OPTION_FLAGS);
  }
}
