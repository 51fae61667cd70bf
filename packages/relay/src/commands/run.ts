import {
  integerOption,
  OutboxConfigError,
  localCommits,
  OutboxError,
  Relay,
  RELAY_DEFAULTS,
  relaySessionLimits,
  secretsOf,
  type CycleResult,
  type Dialect,
  type OutboxStatus,
  type RelayOptions,
  type SqlExecutor,
} from '@outboxkit/core';
import type { Logger } from 'pino';
import { createBrokerPublisher, type BrokerFlags } from '../brokers.js';
import { openDatabaseAfter } from '../connect.js';
import { withFaultHooks } from '../fault-hooks.js';
import { startWhenDatabaseAnswers } from '../start-retry.js';
import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';
import { RELAY_OPTION_FLAGS, underFlag } from '../flag-errors.js';
import { DEFAULT_STATUS_INTERVAL_MS, startRelayObservability, type RelayObservability } from '../observability/index.js';
import { servesTenants, type TenantFlags } from '../tenants/tenant-options.js';
import { logicalNames, refuseMixedSources, logicalReaderFor, type LogicalFlags, type RelaySource } from './logical-source.js';
import { runTenantsCommand } from './run-tenants.js';

export interface RunFlags extends DatabaseFlags, BrokerFlags, LogicalFlags, TenantFlags {
  /** `poll` (default): claim rows; `logical`: read the change log (PostgreSQL's logical replication slot, the MySQL/MariaDB row binlog). */
  source?: RelaySource;
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
  if (servesTenants(flags)) {
    if (flags.source === 'logical')
      throw new OutboxConfigError('--source', 'logical reads one outbox table; a relay serving --tenants / --tenant-pattern polls (leave --source out)');
    return runTenantsCommand(flags, logger, signal);
  }
  const metrics = metricsFlags(flags);
  const databaseUrl = requireDatabaseUrl(flags);
  const tables = tableOptions(flags);
  const logical = flags.source === 'logical';
  if (logical && flags.once) throw new OutboxConfigError('--once', 'drains by polling; run it with --source poll (the default)');
  // Before the database: a broker flag for the wrong broker fails fast with exit code 2.
  const publisher = await createBrokerPublisher(flags);
  // The relay's sessions may not wait for a lock, or idle inside a transaction, longer than its lease.
  const sessionLimits = relaySessionLimits(flags.leaseTtlMs ?? RELAY_DEFAULTS.leaseTtlMs);
  // The logical reader needs no LISTEN wake-ups: the slot streams every commit.
  const target = await openDatabaseAfter(publisher, databaseUrl, { tables, listen: !flags.once && !logical, sessionLimits });
  let observability: RelayObservability | undefined;
  try {
    // A relay started before its database waits for it (missing tables and the like fail at
    // once); a one-shot `--once` fails at once, so a scheduler sees it.
    const whenDatabaseAnswers = (step: () => Promise<void>): Promise<boolean> =>
      flags.once ? step().then(() => true) : startWhenDatabaseAnswers(step, logger, signal, secretsOf(databaseUrl));
    if (flags.migrate) {
      const migrated = await whenDatabaseAnswers(async () => {
        const applied = await target.dialect.migrate(target.database);
        if (applied.length > 0) logger.info({ applied }, 'migrations applied');
      });
      if (!migrated) return;
    }
    observability = await startRunObservability(flags, metrics, logger, { dialect: target.dialect, database: target.database });
    // Checked when starting (and retried with it while the database is unreachable).
    const refuseOtherSource = async (): Promise<void> => refuseMixedSources(logical ? 'logical' : 'poll', await target.dialect.status(target.database));
    const checkedStart = (start: () => Promise<void>) => async (): Promise<void> => {
      await refuseOtherSource();
      await start();
    };
    if (logical) {
      const reader = await logicalReaderFor(
        databaseUrl,
        { ...target, dialect: withFaultHooks(target.dialect) },
        {
          ...relayOptionsOf(flags),
          publisher,
          logger,
          ...logicalNames(flags),
          ...observed(observability),
        },
      );
      observability?.bindRelay(() => reader.health());
      observability?.metrics.bindSlot(() => reader.slotStatus());
      if (!(await whenDatabaseAnswers(checkedStart(() => reader.start())))) return;
      await untilAborted(signal);
      await reader.stop();
      return;
    }
    const relay = relayFor({
      dialect: withFaultHooks(target.dialect),
      database: target.database,
      publisher,
      logger,
      wakeSources: [localCommits, ...target.wakeSources],
      ...relayOptionsOf(flags),
      ...(flags.pollIntervalMs !== undefined ? { pollIntervalMs: flags.pollIntervalMs } : {}),
      ...observed(observability),
    });
    observability?.bindRelay(() => relay.health());
    logger.info({ database: target.safeUrl, dialect: target.dialect.name, relayId: relay.id }, 'relay starting');
    if (flags.once) {
      await refuseOtherSource();
      const result = await relay.drain();
      logger.info(result, 'drain finished');
      assertDrained(result);
      return result;
    }
    if (!(await whenDatabaseAnswers(checkedStart(() => relay.start())))) return;
    await untilAborted(signal);
    logger.info({ relayId: relay.id }, 'stopping: finishing the in-flight batch');
    await relay.stop();
  } finally {
    // Closed after the relay stopped, so /readyz says "not ready" while the last batch finishes.
    await observability?.close();
    await publisher.close();
    await target.database.close();
  }
}

/**
 * `--once` exits 1 (the CLI prints the message on stderr) when it stopped with events it could
 * not publish: the broker failed, or events failed and wait for their retry. A scheduled
 * `run --once` must not report success while its events are still pending.
 */
export function assertDrained(result: CycleResult): void {
  if (result.transient) {
    throw new OutboxError(
      'OUTBOX_DRAIN_INCOMPLETE',
      `run --once stopped with events still pending: publishing failed (${result.brokerError ?? 'broker unavailable'}); ` +
        `${result.published} published before that. Fix the broker connection or permissions and run again`,
    );
  }
  if (result.failed > 0) {
    throw new OutboxError(
      'OUTBOX_DRAIN_INCOMPLETE',
      `run --once stopped with ${result.failed} event(s) that failed to publish and wait for a retry with backoff (the warnings above say why); ` +
        `${result.published} published. Run again after the backoff, or see \`outbox-relay quarantine list\` once they are quarantined`,
    );
  }
}

/** `run`'s metrics flags, checked before connecting, so a typo fails fast with exit code 2. */
export function metricsFlags(flags: RunFlags): { port: number | undefined; statusIntervalMs: number } {
  return {
    port: flags.metricsPort === undefined ? undefined : integerOption(flags.metricsPort, '--metrics-port', 0, 0, 65_535),
    statusIntervalMs: integerOption(flags.statusIntervalMs, '--status-interval-ms', DEFAULT_STATUS_INTERVAL_MS, 100, 3_600_000),
  };
}

/**
 * The metrics server of `run`, reading its status samples from `status`; none without
 * `--metrics-port`, or with `--once` (a one-shot drain has nothing to report to a scraper).
 */
export async function startRunObservability(
  flags: RunFlags,
  metrics: ReturnType<typeof metricsFlags>,
  logger: Logger,
  status: { dialect: Dialect; database: SqlExecutor } | { readStatus(): Promise<OutboxStatus> },
): Promise<RelayObservability | undefined> {
  if (metrics.port === undefined || flags.once) return undefined;
  const host = flags.metricsHost ?? '0.0.0.0';
  const observability = await startRelayObservability({
    ...status,
    port: metrics.port,
    host,
    pollIntervalMs: flags.pollIntervalMs ?? RELAY_DEFAULTS.pollIntervalMs,
    statusIntervalMs: metrics.statusIntervalMs,
    onDatabaseChange: (up, error) =>
      up ? logger.info({}, 'status sample: database reachable') : logger.warn({ err: error }, 'status sample failed: database unreachable or slow'),
  });
  logger.info({ host, port: observability.port, paths: ['/metrics', '/healthz', '/readyz'] }, 'metrics server listening');
  return observability;
}

/** Resolves when `signal` aborts (SIGINT/SIGTERM), at once if it already has. */
export function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) resolve();
    signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

/**
 * The Relay options `run`'s flags set that both sources take (the database, publisher and observer
 * are the caller's; the polling relays add `pollIntervalMs`).
 */
export function relayOptionsOf(flags: RunFlags): Omit<RelayOptions, 'dialect' | 'database' | 'publisher' | 'pollIntervalMs'> {
  return {
    ...(flags.relayId !== undefined ? { relayId: flags.relayId } : {}),
    ...(flags.batchSize !== undefined ? { batchSize: flags.batchSize } : {}),
    ...(flags.maxInFlight !== undefined ? { maxInFlight: flags.maxInFlight } : {}),
    ...(flags.leaseTtlMs !== undefined ? { leaseTtlMs: flags.leaseTtlMs } : {}),
    ...(flags.maxAttempts !== undefined ? { maxAttempts: flags.maxAttempts } : {}),
    ...(flags.poisonPolicy ? { poisonPolicy: flags.poisonPolicy } : {}),
    ...(flags.history === false ? { keepHistory: false } : {}),
  };
}

function observed(observability: RelayObservability | undefined) {
  return observability ? { observer: observability.metrics.observer } : {};
}

/** The relay, or its option error under the flag's name. */
export function relayFor(options: RelayOptions): Relay {
  try {
    return new Relay(options);
  } catch (error) {
    throw underFlag(error, RELAY_OPTION_FLAGS);
  }
}
