import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { RelayStore, LeaseStore } from './dialect.js';
import { OutboxConfigError } from './errors.js';
import type { RelayLogger, RelayObserver } from './observer.js';
import { booleanOption, enumOption, integerOption, requiredOption } from './options.js';
import type { CycleScheduler } from './fair-scheduler.js';
import type { Publisher } from './publisher.js';
import type { SqlDatabase } from './sql.js';
import { localCommits, type WakeSource } from './wake.js';

export interface RelayOptions {
  /** The database's dialect, e.g. `createPostgresDialect()`. */
  dialect: RelayStore & LeaseStore;
  /** A pool the relay may use freely, e.g. `pgDatabase(new Pool(...))`. */
  database: SqlDatabase;
  /** Where events go, e.g. `createRabbitPublisher({ connection: url })`. */
  publisher: Publisher;
  /** Unique per process; default `<host>-<pid>-<random>`. */
  relayId?: string;
  /**
   * Events claimed per cycle; also the bound on events held in memory.
   * @default 500
   */
  batchSize?: number;
  /**
   * Publishes awaiting a confirm at once, across different aggregates.
   * @default 128
   */
  maxInFlight?: number;
  /**
   * Longest wait between polls when idle. Wake-ups (LISTEN/NOTIFY, in-process commits) cut it short.
   * @default 1000
   */
  pollIntervalMs?: number;
  /**
   * Shard lease time-to-live. A relay that stops renewing loses its shards after this long.
   * @default 15000
   */
  leaseTtlMs?: number;
  /**
   * Permanent failures of one event before it is quarantined.
   * @default 10
   */
  maxAttempts?: number;
  /** Backoff between attempts of a failing event: full jitter up to `initialMs * 2^(n-1)`, capped at `maxMs`. */
  retryBackoff?: { initialMs?: number; maxMs?: number };
  /**
   * What a quarantined event does to its aggregate: `'park'` holds back its later events until an
   * operator retries or skips it (keeps order); `'dead-letter'` lets them continue (keeps flowing).
   * @default 'park'
   */
  poisonPolicy?: 'park' | 'dead-letter';
  /**
   * Copy published events to the history table (needed for replay and reconciliation).
   * @default true
   */
  keepHistory?: boolean;
  /** Sources that cut idle waits short. @default [localCommits] */
  wakeSources?: readonly WakeSource[];
  /**
   * How long `stop()` waits for the in-flight batch before giving up its leases anyway.
   * @default 30000
   */
  shutdownTimeoutMs?: number;
  logger?: RelayLogger;
  observer?: RelayObserver;
  /**
   * Where each claim-publish-settle cycle waits for its turn: the lane of a shared
   * {@link FairScheduler}, when one process runs a relay per tenant. Default: no waiting.
   * @example scheduler: fairScheduler.lane('acme')
   */
  scheduler?: CycleScheduler;
}

export interface ResolvedRelayOptions {
  readonly relayId: string;
  readonly batchSize: number;
  readonly maxInFlight: number;
  readonly pollIntervalMs: number;
  readonly leaseTtlMs: number;
  readonly maxAttempts: number;
  readonly retryInitialMs: number;
  readonly retryMaxMs: number;
  readonly poisonPolicy: 'park' | 'dead-letter';
  readonly keepHistory: boolean;
  readonly wakeSources: readonly WakeSource[];
  readonly shutdownTimeoutMs: number;
  readonly scheduler: CycleScheduler | null;
}

export const RELAY_DEFAULTS = Object.freeze({
  batchSize: 500,
  maxInFlight: 128,
  pollIntervalMs: 1000,
  leaseTtlMs: 15_000,
  maxAttempts: 10,
  retryInitialMs: 1000,
  retryMaxMs: 300_000,
  poisonPolicy: 'park' as const,
  keepHistory: true,
  shutdownTimeoutMs: 30_000,
});

export function normalizeRelayOptions(options: RelayOptions): ResolvedRelayOptions {
  if (options === null || typeof options !== 'object') throw new OutboxConfigError('options', 'expected an object');
  requiredOption(options.dialect, 'dialect', 'pass the database dialect, e.g. createPostgresDialect()');
  requiredOption(options.database, 'database', 'pass a SqlDatabase, e.g. pgDatabase(pool)');
  requiredOption(options.publisher, 'publisher', 'pass a Publisher, e.g. createRabbitPublisher({ connection })');
  const relayId = options.relayId ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  if (typeof relayId !== 'string' || relayId === '' || relayId.length > 255) {
    throw new OutboxConfigError('relayId', 'must be a non-empty string of at most 255 characters');
  }
  const retryInitialMs = integerOption(options.retryBackoff?.initialMs, 'retryBackoff.initialMs', RELAY_DEFAULTS.retryInitialMs, 0, 3_600_000);
  const retryMaxMs = integerOption(
    options.retryBackoff?.maxMs,
    'retryBackoff.maxMs',
    Math.max(retryInitialMs, RELAY_DEFAULTS.retryMaxMs),
    retryInitialMs,
    86_400_000,
  );
  const wakeSources = options.wakeSources ?? [localCommits];
  if (!Array.isArray(wakeSources) || wakeSources.some((s) => typeof s?.subscribe !== 'function')) {
    throw new OutboxConfigError('wakeSources', 'must be an array of WakeSource objects ({ subscribe(wake) })');
  }
  if (options.scheduler !== undefined && typeof options.scheduler?.run !== 'function') {
    throw new OutboxConfigError('scheduler', 'must be a CycleScheduler ({ run(cycle) }), e.g. new FairScheduler().lane(tenant)');
  }
  return Object.freeze({
    relayId,
    batchSize: integerOption(options.batchSize, 'batchSize', RELAY_DEFAULTS.batchSize, 1, 10_000),
    maxInFlight: integerOption(options.maxInFlight, 'maxInFlight', RELAY_DEFAULTS.maxInFlight, 1, 10_000),
    pollIntervalMs: integerOption(options.pollIntervalMs, 'pollIntervalMs', RELAY_DEFAULTS.pollIntervalMs, 10, 600_000),
    leaseTtlMs: integerOption(options.leaseTtlMs, 'leaseTtlMs', RELAY_DEFAULTS.leaseTtlMs, 300, 3_600_000),
    maxAttempts: integerOption(options.maxAttempts, 'maxAttempts', RELAY_DEFAULTS.maxAttempts, 1, 1000),
    retryInitialMs,
    retryMaxMs,
    poisonPolicy: enumOption(options.poisonPolicy, 'poisonPolicy', RELAY_DEFAULTS.poisonPolicy, ['park', 'dead-letter']),
    keepHistory: booleanOption(options.keepHistory, 'keepHistory', RELAY_DEFAULTS.keepHistory),
    wakeSources,
    shutdownTimeoutMs: integerOption(options.shutdownTimeoutMs, 'shutdownTimeoutMs', RELAY_DEFAULTS.shutdownTimeoutMs, 0, 3_600_000),
    scheduler: options.scheduler ?? null,
  });
}
