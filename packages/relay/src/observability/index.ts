import type { Dialect, OutboxStatus, RelayHealth, SqlExecutor } from '@outboxkit/core';
import { startObservabilityServer, type ObservabilityServer } from './http-server.js';
import { createRelayMetrics, type RelayMetrics } from './metrics.js';
import { assessReadiness, readinessLimits, type ReadinessReport } from './readiness.js';
import { StatusSampler } from './status-sampler.js';

export { createRelayMetrics, FAILURE_REASONS, ERROR_PHASES, type RelayMetrics, type RelayMetricsOptions } from './metrics.js';
export { assessReadiness, readinessLimits, type ReadinessReport, type ReadinessLimits, type CheckResult } from './readiness.js';
export { createTenantMetrics, sumStatuses, type TenantMetrics } from './tenant-metrics.js';
export { StatusSampler, type StatusSample, type StatusSamplerOptions } from './status-sampler.js';
export { startObservabilityServer, type ObservabilityServer, type ObservabilityServerOptions } from './http-server.js';

/** Default time between `dialect.status()` samples. */
export const DEFAULT_STATUS_INTERVAL_MS = 5_000;

/**
 * Where the status samples come from: one outbox (`dialect.status(database)`), or `readStatus`
 * for a process serving many tenants.
 */
export type RelayObservabilityOptions = RelayObservabilityCommonOptions &
  ({ dialect: Dialect; database: SqlExecutor } | { readStatus(): Promise<OutboxStatus> });

export interface RelayObservabilityCommonOptions {
  port: number;
  /** @default '0.0.0.0' (Prometheus scrapes from another host) */
  host?: string;
  /** The relay's poll interval: readiness allows three missed polls (at least 15 s). */
  pollIntervalMs: number;
  /** @default 5000 */
  statusIntervalMs?: number;
  /** Told when a status sample starts or stops failing (not on every failure). */
  onDatabaseChange?(up: boolean, error?: string): void;
}

/** The running metrics endpoint of one relay. */
export interface RelayObservability {
  readonly metrics: RelayMetrics;
  readonly port: number;
  readiness(): ReadinessReport;
  /** Starts the periodic status sampler; call once the relay exists (`bindRelay`). */
  bindRelay(health: () => RelayHealth): void;
  close(): Promise<void>;
}

/**
 * Metrics, the status sampler and the HTTP endpoint, wired together. The metrics exist before
 * the relay (its observer is a constructor option); `bindRelay` connects the relay's health.
 *
 * @example
 * const obs = await startRelayObservability({ port: 9464, dialect, database, pollIntervalMs: 1000 });
 * const relay = new Relay({ dialect, database, publisher, observer: obs.metrics.observer });
 * obs.bindRelay(() => relay.health());
 * await relay.start();
 */
export async function startRelayObservability(options: RelayObservabilityOptions): Promise<RelayObservability> {
  const statusIntervalMs = options.statusIntervalMs ?? DEFAULT_STATUS_INTERVAL_MS;
  const limits = readinessLimits(options.pollIntervalMs, statusIntervalMs);
  const metrics = createRelayMetrics();
  let health: (() => RelayHealth) | undefined;
  let databaseUp: boolean | undefined;
  const sampler = new StatusSampler({
    read: 'readStatus' in options ? options.readStatus : () => options.dialect.status(options.database),
    intervalMs: statusIntervalMs,
    timeoutMs: Math.max(statusIntervalMs, 5_000),
    onSample(sample) {
      if (sample.ok) metrics.recordStatus(sample.status!, sample.at);
      else metrics.recordStatusFailure();
      if (databaseUp !== sample.ok) {
        databaseUp = sample.ok;
        options.onDatabaseChange?.(sample.ok, sample.error);
      }
    },
  });
  const readiness = (): ReadinessReport => {
    const current: RelayHealth = health?.() ?? {
      relayId: '',
      running: false,
      ownedShards: [],
      breakerOpen: false,
      publisherConnected: false,
      lastPollAt: null,
      configurationError: null,
    };
    return assessReadiness(current, sampler.latest, limits, new Date());
  };
  let server: ObservabilityServer;
  try {
    server = await startObservabilityServer({ port: options.port, host: options.host ?? '0.0.0.0', registry: metrics.registry, readiness });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new Error(
      `cannot serve metrics on ${options.host ?? '0.0.0.0'}:${options.port}: ${code === 'EADDRINUSE' ? 'the port is in use' : (error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  return {
    metrics,
    port: server.port,
    readiness,
    bindRelay(source) {
      const first = health === undefined;
      health = source;
      metrics.bindRelay(source);
      if (first) sampler.start();
    },
    async close() {
      await sampler.stop();
      await server.close();
    },
  };
}
