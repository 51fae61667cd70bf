import {
  lsnToNumber,
  type LogicalSlotStatus,
  type OutboxStatus,
  type PublishFailureReason,
  type RelayHealth,
  type RelayObserver,
  type StoredEvent,
} from '@outboxkit/core';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

// Label values come only from the fixed sets below, never from events: an aggregate id or a
// payload field as a label would leak business data and explode the series count.

/** Every `reason` label value of `outbox_publish_failures_total`. */
export const FAILURE_REASONS: readonly PublishFailureReason[] = [
  'unroutable',
  'rejected',
  'too-large',
  'invalid-destination',
  'timeout',
  'connection',
  'permission',
  'unknown',
];
/** Every `phase` label value of `outbox_relay_errors_total` (the Relay's `error` hook phases). */
export const ERROR_PHASES = ['cycle', 'ack', 'lease', 'leave', 'other'] as const;
const QUARANTINE_STATUSES = ['parked', 'dead-lettered'] as const;

/**
 * Publish lag buckets, in seconds: sub-second for a healthy relay, up to an hour for one that
 * waited out a broker outage (the histogram then shows how long the outage held events back).
 */
const LAG_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];

export interface RelayMetricsOptions {
  /** Registry to register in; default a new one (so several relays in one process do not clash). */
  registry?: Registry;
  /** Add prom-client's default process/Node.js metrics. @default true */
  defaultMetrics?: boolean;
}

/** The relay's Prometheus metrics and the hooks that feed them. */
export interface RelayMetrics {
  readonly registry: Registry;
  /** Pass as `new Relay({ observer })`. */
  readonly observer: RelayObserver;
  /** Reads the relay's live state at scrape time (shards, broker connection, last poll). */
  bindRelay(health: () => RelayHealth): void;
  /** A successful `dialect.status()` sample. */
  recordStatus(status: OutboxStatus, at: Date): void;
  /** A failed (or timed-out) sample: the database is reported down. */
  recordStatusFailure(): void;
  /** Adds the replication slot's gauges, read at scrape time from the reader's last sample (`run --source logical`). */
  bindSlot(slot: () => LogicalSlotStatus | null): void;
}

/**
 * Creates the relay's metrics (names follow Prometheus conventions: `outbox_` prefix, base units,
 * `_total` counters). docs/observability/README.md describes each one.
 *
 * @example
 * const metrics = createRelayMetrics();
 * const relay = new Relay({ dialect, database, publisher, observer: metrics.observer });
 * metrics.bindRelay(() => relay.health());
 * res.end(await metrics.registry.metrics());
 */
export function createRelayMetrics(options: RelayMetricsOptions = {}): RelayMetrics {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  let health: (() => RelayHealth) | undefined;

  const backlog = new Gauge({
    name: 'outbox_backlog_events',
    help: 'Pending events in the outbox table (whole database), per the last status sample.',
    registers,
  });
  const oldestAge = new Gauge({
    name: 'outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest pending event per the last status sample; 0 when nothing is pending.',
    registers,
  });
  const quarantine = new Gauge({
    name: 'outbox_quarantine_events',
    help: 'Events in quarantine (parked or dead-lettered), per the last status sample.',
    registers,
  });
  const parked = new Gauge({ name: 'outbox_parked_aggregates', help: 'Aggregates held back by a parked event, per the last status sample.', registers });
  const sampledAt = new Gauge({ name: 'outbox_status_sample_timestamp_seconds', help: 'Unix time of the last successful status sample.', registers });
  const databaseUp = new Gauge({ name: 'outbox_database_up', help: '1 when the last status sample reached the database, else 0.', registers });
  const lag = new Histogram({
    name: 'outbox_publish_lag_seconds',
    help: "Time from an event's occurredAt to the broker's confirm (relay clock minus writer clock).",
    buckets: LAG_BUCKETS,
    registers,
  });
  const published = new Counter({ name: 'outbox_published_total', help: 'Events confirmed by the broker and marked published.', registers });
  const failures = new Counter({
    name: 'outbox_publish_failures_total',
    help: 'Failed publish attempts by reason (connection/timeout are transient, the others permanent).',
    labelNames: ['reason'] as const,
    registers,
  });
  const quarantined = new Counter({
    name: 'outbox_quarantined_total',
    help: 'Events this relay moved to quarantine, by status (parked holds back the aggregate).',
    labelNames: ['status'] as const,
    registers,
  });
  const expired = new Counter({
    name: 'outbox_events_expired_total',
    help: 'Events past their expiresAt that this relay quarantined unpublished (also counted in outbox_quarantined_total).',
    registers,
  });
  const errors = new Counter({
    name: 'outbox_relay_errors_total',
    help: 'Database or unexpected errors by relay phase; the relay retries.',
    labelNames: ['phase'] as const,
    registers,
  });
  const breakerOpen = new Gauge({
    name: 'outbox_circuit_breaker_open',
    help: '1 while the broker circuit breaker is open (claiming paused), else 0.',
    registers,
  });
  new Gauge({
    name: 'outbox_shards_owned',
    help: 'Shards this relay holds a lease on.',
    registers,
    collect() {
      this.set(health?.().ownedShards.length ?? 0);
    },
  });
  new Gauge({
    name: 'outbox_last_poll_timestamp_seconds',
    help: 'Unix time of the last completed claim (0 before the first).',
    registers,
    collect() {
      const at = health?.().lastPollAt;
      this.set(at ? at.getTime() / 1000 : 0);
    },
  });
  new Gauge({
    name: 'outbox_broker_up',
    help: "1 while the publisher's broker connection is open and not blocked, else 0.",
    registers,
    collect() {
      this.set(health?.().publisherConnected ? 1 : 0);
    },
  });

  // Zero-initialise every labelled series, so rate() and alerts see them before the first event.
  for (const reason of FAILURE_REASONS) failures.inc({ reason }, 0);
  for (const status of QUARANTINE_STATUSES) quarantined.inc({ status }, 0);
  for (const phase of ERROR_PHASES) errors.inc({ phase }, 0);
  breakerOpen.set(0);
  databaseUp.set(0);

  const observer: RelayObserver = {
    published(event: StoredEvent, confirmedAt: Date) {
      // Writer and relay clocks differ; a negative lag is skew, not speed.
      lag.observe(Math.max(0, (confirmedAt.getTime() - event.occurredAt.getTime()) / 1000));
    },
    acked(count) {
      published.inc(count);
    },
    failed(_event, error) {
      const reason = (error as { reason?: unknown }).reason;
      failures.inc({ reason: FAILURE_REASONS.includes(reason as PublishFailureReason) ? (reason as string) : 'unknown' });
    },
    quarantined(_event, _reason, status) {
      quarantined.inc({ status });
    },
    expired() {
      expired.inc();
    },
    breaker(open) {
      breakerOpen.set(open ? 1 : 0);
    },
    error(phase) {
      errors.inc({ phase: (ERROR_PHASES as readonly string[]).includes(phase) ? phase : 'other' });
    },
  };

  return {
    registry,
    observer,
    bindRelay(source) {
      health = source;
    },
    recordStatus(status, at) {
      backlog.set(status.backlog);
      oldestAge.set(status.oldestPendingAgeSeconds ?? 0);
      quarantine.set(status.quarantined);
      parked.set(status.parkedAggregates);
      sampledAt.set(at.getTime() / 1000);
      databaseUp.set(1);
    },
    bindSlot(slot) {
      const gauge = (name: string, help: string, value: (status: LogicalSlotStatus) => number): void => {
        new Gauge({
          name,
          help,
          registers,
          collect() {
            const status = slot();
            if (status !== null) this.set(value(status));
          },
        });
      };
      gauge('outbox_logical_slot_lag_bytes', "WAL bytes between the server's current position and the slot's confirmed LSN.", (s) => s.lagBytes);
      gauge(
        'outbox_logical_slot_lag_seconds',
        'Seconds the oldest event not yet settled by the logical reader has waited (0 when every committed event was published).',
        (s) => s.lagSeconds,
      );
      gauge('outbox_logical_slot_retained_wal_bytes', 'WAL bytes the server keeps on disk for the slot.', (s) => s.retainedWalBytes);
      gauge(
        'outbox_logical_slot_confirmed_lsn',
        "The slot's confirmed flush LSN, as a byte position.",
        (s) => s.confirmedOffset ?? lsnToNumber(s.confirmedLsn),
      );
      gauge('outbox_logical_slot_active', '1 while a walsender streams from the slot, else 0.', (s) => (s.active ? 1 : 0));
    },
    recordStatusFailure() {
      // The backlog figures keep their last known values: a gap is worse for graphs than a
      // stale value, and database_up says they are stale.
      databaseUp.set(0);
    },
  };
}
