import type { JsonValue, Lease, LeaseRow, QuarantineEntry, StoredEvent } from '@outboxkit/core';

/**
 * Row conversions that do not depend on the driver's type parsers: `pg` returns bigint and
 * numeric as strings and parses timestamptz, but an ORM's raw executor (or a client with custom
 * parsers) may return bigint or date strings instead.
 */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
  throw new TypeError(`expected a number from PostgreSQL, got ${value === null ? 'null' : typeof value}`);
}

export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  if (typeof value === 'string' || typeof value === 'number') return new Date(value);
  throw new TypeError(`expected a timestamp from PostgreSQL, got ${value === null ? 'null' : typeof value}`);
}

/** JSON columns are selected as `::text`, so parsing never depends on the driver's jsonb parser. */
export function parseJsonText(value: unknown): JsonValue {
  if (typeof value !== 'string') throw new TypeError(`expected JSON text from PostgreSQL, got ${value === null ? 'null' : typeof value}`);
  return JSON.parse(value) as JsonValue;
}

export interface EventRow {
  position: unknown;
  id: string;
  aggregate_type: string;
  aggregate_id: string;
  sequence: unknown;
  shard: unknown;
  type: string;
  destination: string | null;
  payload: unknown;
  headers: unknown;
  occurred_at: unknown;
  attempts: unknown;
  expires_at: unknown;
}

export function toStoredEvent(row: EventRow): StoredEvent {
  return Object.freeze({
    id: row.id,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    type: row.type,
    payload: parseJsonText(row.payload),
    headers: Object.freeze(parseJsonText(row.headers) as Record<string, string>),
    occurredAt: toDate(row.occurred_at),
    destination: row.destination,
    expiresAt: row.expires_at === null ? null : toDate(row.expires_at),
    shard: toNumber(row.shard),
    sequence: toNumber(row.sequence),
    position: toNumber(row.position),
    attempts: toNumber(row.attempts),
  });
}

/** Leases as `acquire` and `renew` return them: numbers, in shard order. */
export function toLeases(rows: readonly { shard: unknown; epoch: unknown }[]): Lease[] {
  return rows.map((row) => Object.freeze({ shard: toNumber(row.shard), epoch: toNumber(row.epoch) })).sort((a, b) => a.shard - b.shard);
}

export function toLeaseRow(row: { shard: unknown; owner: string | null; epoch: unknown }): LeaseRow {
  return Object.freeze({ shard: toNumber(row.shard), owner: row.owner, epoch: toNumber(row.epoch) });
}

export interface QuarantineRow {
  position: unknown;
  id: string;
  aggregate_type: string;
  aggregate_id: string;
  sequence: unknown;
  type: string;
  destination: string | null;
  attempts: unknown;
  reason: string;
  status: QuarantineEntry['status'];
  quarantined_at: unknown;
  resolved_at: unknown;
  resolved_by: string | null;
  resolution_note: string | null;
}

export function toQuarantineEntry(row: QuarantineRow): QuarantineEntry {
  return Object.freeze({
    id: row.id,
    position: toNumber(row.position),
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    sequence: toNumber(row.sequence),
    type: row.type,
    destination: row.destination,
    attempts: toNumber(row.attempts),
    reason: row.reason,
    status: row.status,
    quarantinedAt: toDate(row.quarantined_at),
    resolvedAt: row.resolved_at === null ? null : toDate(row.resolved_at),
    resolvedBy: row.resolved_by,
    resolutionNote: row.resolution_note,
  });
}
