import type { RelayHealth } from '@outboxkit/core';
import type { StatusSample } from './status-sampler.js';

/** One readiness check's verdict, as /readyz reports it. */
export interface CheckResult {
  readonly ok: boolean;
  readonly detail: string;
}

export interface ReadinessReport {
  readonly ready: boolean;
  /** Names of the checks that failed, e.g. `['broker', 'poll']`. */
  readonly failed: readonly string[];
  readonly checks: Readonly<Record<'relay' | 'database' | 'broker' | 'poll', CheckResult>>;
}

export interface ReadinessLimits {
  /** A successful status sample older than this no longer counts: the sampler is stuck or failing. */
  readonly sampleMaxAgeMs: number;
  /** The last claim must be younger than this. */
  readonly pollMaxAgeMs: number;
}

/**
 * Limits derived from the relay's own intervals: three missed samples or polls, and never less
 * than 15 s, so a busy batch or a slow database round trip does not flap readiness.
 */
export function readinessLimits(pollIntervalMs: number, sampleIntervalMs: number): ReadinessLimits {
  return { sampleMaxAgeMs: Math.max(3 * sampleIntervalMs, 15_000), pollMaxAgeMs: Math.max(3 * pollIntervalMs, 15_000) };
}

/**
 * Decides /readyz: the relay loop runs, the database answered the last status sample (recently),
 * the broker connection is up, and the last poll is recent. Pure, so it is tested without timers.
 */
export function assessReadiness(health: RelayHealth, sample: StatusSample | null, limits: ReadinessLimits, now: Date): ReadinessReport {
  const ageMs = (at: Date): number => now.getTime() - at.getTime();
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

  const relay: CheckResult = health.running ? { ok: true, detail: 'relay loop running' } : { ok: false, detail: 'relay loop is not running' };

  let database: CheckResult;
  if (sample === null) database = { ok: false, detail: 'no status sample yet' };
  else if (!sample.ok) database = { ok: false, detail: `last status sample failed: ${sample.error ?? 'unknown error'}` };
  else if (ageMs(sample.at) > limits.sampleMaxAgeMs)
    database = { ok: false, detail: `last successful status sample is ${seconds(ageMs(sample.at))} old (limit ${seconds(limits.sampleMaxAgeMs)})` };
  else database = { ok: true, detail: `reachable ${seconds(ageMs(sample.at))} ago` };

  // A refused permission is reported even while the connection is up: publishing still fails.
  const broker: CheckResult =
    health.configurationError !== null
      ? { ok: false, detail: `configuration: ${health.configurationError}` }
      : health.publisherConnected
        ? { ok: true, detail: 'connected' }
        : { ok: false, detail: health.breakerOpen ? 'not connected (circuit breaker open)' : 'not connected' };

  let poll: CheckResult;
  if (health.lastPollAt !== null && ageMs(health.lastPollAt) <= limits.pollMaxAgeMs) {
    poll = { ok: true, detail: `last poll ${seconds(ageMs(health.lastPollAt))} ago` };
  } else if (health.running && health.ownedShards.length === 0) {
    // More relays than shards: an idle spare is healthy, it takes over when another relay leaves.
    poll = { ok: true, detail: 'owns no shards (standby)' };
  } else {
    poll = {
      ok: false,
      detail: health.lastPollAt === null ? 'no poll yet' : `last poll ${seconds(ageMs(health.lastPollAt))} ago (limit ${seconds(limits.pollMaxAgeMs)})`,
    };
  }

  const checks = { relay, database, broker, poll };
  const failed = Object.entries(checks)
    .filter(([, check]) => !check.ok)
    .map(([name]) => name);
  return { ready: failed.length === 0, failed, checks };
}
