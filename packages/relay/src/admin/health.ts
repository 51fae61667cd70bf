import { OutboxConfigError, type OutboxStatus } from '@outboxkit/core';

/** What a health check compares the outbox against; every threshold is optional. */
export interface HealthThresholds {
  /** Degraded when the oldest pending event is older than this. */
  readonly maxOldestPendingAgeMs?: number;
  /** Degraded when more events than this are quarantined (parked or dead-lettered). */
  readonly maxQuarantined?: number;
  /** Degraded when more events than this are pending. */
  readonly maxBacklog?: number;
}

export type HealthState = 'ok' | 'degraded' | 'failed';

export interface HealthReport {
  readonly status: HealthState;
  /** Why it is not ok, one sentence each (empty when ok). */
  readonly reasons: readonly string[];
  /** The figures the verdict was drawn from; null when the database could not be read. */
  readonly outbox: OutboxStatus | null;
}

const THRESHOLD_KEYS = ['maxOldestPendingAgeMs', 'maxQuarantined', 'maxBacklog'] as const;

/** Checks thresholds once, so a typo or a negative value fails at the call, not as a wrong verdict. */
export function normalizeThresholds(thresholds: HealthThresholds = {}): HealthThresholds {
  for (const key of Object.keys(thresholds)) {
    if (!(THRESHOLD_KEYS as readonly string[]).includes(key)) throw new OutboxConfigError(key, `unknown threshold; known: ${THRESHOLD_KEYS.join(', ')}`);
  }
  for (const key of THRESHOLD_KEYS) {
    const value = thresholds[key];
    if (value !== undefined && (!Number.isFinite(value) || value < 0)) {
      throw new OutboxConfigError(key, `must be a number >= 0, got ${JSON.stringify(value)}`);
    }
  }
  return thresholds;
}

/**
 * The verdict: `failed` when nothing can publish (events are pending and no relay holds a live
 * lease), `degraded` when a threshold is exceeded, else `ok`. A database that cannot be read is
 * `failed` too; that case is decided by the caller, which has the error.
 *
 * @example
 * judgeHealth(status, { maxOldestPendingAgeMs: 60_000, maxQuarantined: 0 });
 * // { status: 'degraded', reasons: ['2 event(s) quarantined (threshold 0)...'], outbox: status }
 */
export function judgeHealth(outbox: OutboxStatus, thresholds: HealthThresholds): HealthReport {
  const failed: string[] = [];
  const degraded: string[] = [];
  const liveOwners = outbox.shardOwners.filter((owner) => owner.expiresInSeconds > 0);
  if (outbox.backlog > 0 && liveOwners.length === 0) {
    failed.push(`${outbox.backlog} event(s) pending and no relay holds a live lease: start outbox-relay run`);
  }
  const ageMs = outbox.oldestPendingAgeSeconds === null ? null : outbox.oldestPendingAgeSeconds * 1000;
  if (thresholds.maxOldestPendingAgeMs !== undefined && ageMs !== null && ageMs > thresholds.maxOldestPendingAgeMs) {
    degraded.push(
      `the oldest pending event is ${Math.round(ageMs)} ms old (threshold ${thresholds.maxOldestPendingAgeMs} ms): the relay is behind, or stuck on a broker or an aggregate`,
    );
  }
  if (thresholds.maxQuarantined !== undefined && outbox.quarantined > thresholds.maxQuarantined) {
    degraded.push(`${outbox.quarantined} event(s) quarantined (threshold ${thresholds.maxQuarantined}): see outbox-relay quarantine list`);
  }
  if (thresholds.maxBacklog !== undefined && outbox.backlog > thresholds.maxBacklog) {
    degraded.push(`${outbox.backlog} event(s) pending (threshold ${thresholds.maxBacklog})`);
  }
  const status: HealthState = failed.length > 0 ? 'failed' : degraded.length > 0 ? 'degraded' : 'ok';
  return { status, reasons: [...failed, ...degraded], outbox };
}
