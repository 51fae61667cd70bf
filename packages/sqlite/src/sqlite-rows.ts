import type { JsonValue, Lease, LeaseRow, QuarantineEntry, StoredEvent } from '@outboxkit/core';

/**
 * Row conversions. better-sqlite3 returns INTEGER columns as numbers; other executors (Prisma's
 * adapter) may return bigints, so values core compares or counts go through `Number`.
 */

/** A row of `claim` as better-sqlite3 returns it. */
export interface EventRow {
  position: number;
  id: string;
  aggregate_type: string;
  aggregate_id: string;
  sequence: number;
  shard: number;
  type: string;
  destination: string | null;
  payload: string;
  headers: string;
  occurred_at: number;
  attempts: number;
  expires_at: number | null;
}

export function toStoredEvent(row: EventRow): StoredEvent {
  return Object.freeze({
    id: row.id,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    type: row.type,
    payload: JSON.parse(row.payload) as JsonValue,
    headers: Object.freeze(JSON.parse(row.headers) as Record<string, string>),
    occurredAt: new Date(row.occurred_at),
    destination: row.destination,
    expiresAt: row.expires_at === null ? null : new Date(row.expires_at),
    shard: row.shard,
    sequence: row.sequence,
    position: row.position,
    attempts: row.attempts,
  });
}

/** Leases as `acquire` and `renew` return them, in shard order. */
export function toLeases(rows: readonly Lease[]): Lease[] {
  return rows.map((row) => ({ shard: Number(row.shard), epoch: Number(row.epoch) })).sort((a, b) => a.shard - b.shard);
}

export function toLeaseRow(row: LeaseRow): LeaseRow {
  return { shard: Number(row.shard), owner: row.owner, epoch: Number(row.epoch) };
}

/** A row of `listQuarantine`; times are epoch milliseconds. */
export interface QuarantineRow {
  position: number;
  id: string;
  aggregate_type: string;
  aggregate_id: string;
  sequence: number;
  type: string;
  destination: string | null;
  attempts: number;
  reason: string;
  status: QuarantineEntry['status'];
  quarantined_at: number;
  resolved_at: number | null;
  resolved_by: string | null;
  resolution_note: string | null;
}

export function toQuarantineEntry(row: QuarantineRow): QuarantineEntry {
  return Object.freeze({
    id: row.id,
    position: row.position,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    sequence: row.sequence,
    type: row.type,
    destination: row.destination,
    attempts: row.attempts,
    reason: row.reason,
    status: row.status,
    quarantinedAt: new Date(row.quarantined_at),
    resolvedAt: row.resolved_at === null ? null : new Date(row.resolved_at),
    resolvedBy: row.resolved_by,
    resolutionNote: row.resolution_note,
  });
}
