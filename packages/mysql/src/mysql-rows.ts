import { OutboxError, type JsonValue, type Lease, type LeaseRow, type QuarantineEntry, type StoredEvent } from '@outboxkit/core';

/** A row of the `claim` statement as any MySQL executor returns it. */
export interface EventRow {
  position: number | string | bigint;
  id: string;
  aggregate_type: string;
  aggregate_id: string;
  sequence: number | string | bigint;
  shard: number | string;
  type: string;
  destination: string | null;
  payload: string;
  headers: string;
  occurred_at_ms: number | string | bigint;
  attempts: number | string;
  expires_at_ms: number | string | bigint | null;
}

/** A lease a relay holds, as `acquire` and `renew` read it back. */
export interface HeldLeaseRow {
  shard: number | string;
  epoch: number | string | bigint;
}

/**
 * BIGINT and COUNT(*) arrive as numbers, strings or bigints depending on the driver and its
 * options (`supportBigNumbers`, an ORM's own settings); everything outboxkit counts fits a number.
 */
export function toNumber(value: unknown): number {
  const n = typeof value === 'number' ? value : Number(value);
  if (!Number.isFinite(n)) {
    throw new OutboxError(
      'OUTBOX_UNEXPECTED_RESULT',
      `expected a number from MySQL, got ${typeof value}; check that the executor returns column values unchanged`,
    );
  }
  return n;
}

/** A nullable number column (`NULL` from an empty scalar subquery stays null). */
export function toNumberOrNull(value: unknown): number | null {
  return value === null || value === undefined ? null : toNumber(value);
}

export function toStoredEvent(row: EventRow): StoredEvent {
  return {
    position: toNumber(row.position),
    id: row.id,
    aggregateType: row.aggregate_type,
    aggregateId: row.aggregate_id,
    sequence: toNumber(row.sequence),
    shard: toNumber(row.shard),
    type: row.type,
    destination: row.destination,
    payload: JSON.parse(row.payload) as JsonValue,
    headers: Object.freeze(JSON.parse(row.headers) as Record<string, string>),
    occurredAt: new Date(toNumber(row.occurred_at_ms)),
    expiresAt: row.expires_at_ms === null ? null : new Date(toNumber(row.expires_at_ms)),
    attempts: toNumber(row.attempts),
  };
}

export function toLease(row: HeldLeaseRow): Lease {
  return { shard: toNumber(row.shard), epoch: toNumber(row.epoch) };
}

export function toLeaseRow(row: HeldLeaseRow & { owner: string | null }): LeaseRow {
  return { shard: toNumber(row.shard), owner: row.owner, epoch: toNumber(row.epoch) };
}

/** A row of `listQuarantine`; times as epoch milliseconds (see mysql-sql.ts). */
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
  quarantined_at_ms: unknown;
  resolved_at_ms: unknown;
  resolved_by: string | null;
  resolution_note: string | null;
}

export function toQuarantineEntry(row: QuarantineRow): QuarantineEntry {
  const resolvedAt = toNumberOrNull(row.resolved_at_ms);
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
    quarantinedAt: new Date(toNumber(row.quarantined_at_ms)),
    resolvedAt: resolvedAt === null ? null : new Date(resolvedAt),
    resolvedBy: row.resolved_by,
    resolutionNote: row.resolution_note,
  });
}
