import type { Envelope, ResolvedTables } from '@outboxkit/core';
import { quoteIdentifier } from './sqlite-identifiers.js';

/**
 * Every statement of the write path and the relay's hot path, in one place.
 *
 * Storage choices: times are INTEGER epoch milliseconds so "now" comparisons are exact
 * integer comparisons; payload and headers are JSON TEXT; lists of shards or ids are bound as one
 * JSON array and expanded with `json_each(?)`, so every statement has a fixed text and is
 * prepared once per connection whatever the list length.
 */

/** The database clock in epoch milliseconds. `'now'` is fixed for the duration of one statement step. */
export const NOW_MS = "CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER)";

/** The columns an event keeps when it moves to `published` or `quarantine`. */
export const EVENT_COLUMNS =
  'position, id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers, ' +
  'occurred_at, created_at, available_at, attempts, last_error, expires_at';

const EVENT_SELECT =
  'e.position, e.id, e.aggregate_type, e.aggregate_id, e.sequence, e.shard, e.type, e.destination, e.payload, ' +
  'e.headers, e.occurred_at, e.attempts, e.expires_at';

/**
 * params: shards (JSON array), [excluded ids (JSON array),] limit. "now" is read once
 * (materialised) so every row of the scan is compared with the same instant.
 */
function claimStatement(events: string, quarantine: string, excluding: boolean): string {
  return (
    `WITH clock AS MATERIALIZED (SELECT ${NOW_MS} AS now_ms) ` +
    `SELECT ${EVENT_SELECT} FROM ${events} e, clock ` +
    `WHERE e.shard IN (SELECT value FROM json_each(?)) ${excluding ? 'AND e.id NOT IN (SELECT value FROM json_each(?)) ' : ''}` +
    'AND e.available_at <= clock.now_ms ' +
    // An earlier event of the same aggregate that is backing off holds the later ones back.
    `AND NOT EXISTS (SELECT 1 FROM ${events} b WHERE b.aggregate_type = e.aggregate_type ` +
    'AND b.aggregate_id = e.aggregate_id AND b.position < e.position AND b.available_at > clock.now_ms) ' +
    `AND NOT EXISTS (SELECT 1 FROM ${quarantine} q WHERE q.aggregate_type = e.aggregate_type ` +
    "AND q.aggregate_id = e.aggregate_id AND q.status = 'parked') " +
    'ORDER BY e.position LIMIT ?'
  );
}

export type SqliteStatements = ReturnType<typeof sqliteStatements>;

export function sqliteStatements(tables: ResolvedTables) {
  const events = quoteIdentifier(tables.names.events);
  const sequences = quoteIdentifier(tables.names.sequences);
  const published = quoteIdentifier(tables.names.published);
  const quarantine = quoteIdentifier(tables.names.quarantine);
  const leases = quoteIdentifier(tables.names.leases);
  const relays = quoteIdentifier(tables.names.relays);
  const idsFromJson = 'SELECT value FROM json_each(?)';

  return Object.freeze({
    // Write path (the caller's transaction). The upsert takes the write lock, and SQLite has one
    // writer at a time, so sequence order == commit order == position order per aggregate.
    /** Around a write's statements: SQLite undoes only a failed statement, this undoes the whole write (core's allOrNothing). */
    writeSavepoint: Object.freeze({
      begin: 'SAVEPOINT outboxkit_write',
      release: 'RELEASE SAVEPOINT outboxkit_write',
      rollback: 'ROLLBACK TO SAVEPOINT outboxkit_write',
    }),
    /** params: aggregate_type, aggregate_id -> { last_sequence } */
    nextSequence:
      `INSERT INTO ${sequences} (aggregate_type, aggregate_id, last_sequence) VALUES (?, ?, 1) ` +
      'ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET last_sequence = last_sequence + 1 RETURNING last_sequence',
    /** params: see {@link insertEventParams} */
    insertEvent:
      `INSERT INTO ${events} (id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers, ` +
      `occurred_at, expires_at, created_at, available_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${NOW_MS}, ${NOW_MS})`,

    countPending: `SELECT count(*) AS n FROM ${events}`,

    /** See claimStatement. */
    claim: claimStatement(events, quarantine, false),
    /** As claim, with the ids of a JSON array (the second parameter) left out. */
    claimExcluding: claimStatement(events, quarantine, true),

    /**
     * params: shards (JSON array). A plain read: the relay's transaction began IMMEDIATE, so it
     * already holds the database write lock and no takeover can commit before it does.
     */
    lockLeaseRows: `SELECT shard, owner, epoch FROM ${leases} WHERE shard IN (SELECT value FROM json_each(?)) ORDER BY shard`,

    /** params: ids (JSON array) */
    copyToPublished:
      `INSERT INTO ${published} (${EVENT_COLUMNS}, published_at) SELECT ${EVENT_COLUMNS}, ${NOW_MS} ` + `FROM ${events} WHERE id IN (${idsFromJson})`,
    /** params: ids (JSON array) */
    deleteEvents: `DELETE FROM ${events} WHERE id IN (${idsFromJson})`,

    /** params: error, retryInMs, id. */
    markFailed: `UPDATE ${events} SET attempts = attempts + 1, last_error = ?, available_at = ${NOW_MS} + ? WHERE id = ?`,

    /**
     * params: reason, reason, status, id. An event quarantined again after an operator retried it
     * replaces its earlier quarantine record.
     */
    copyToQuarantine:
      `INSERT INTO ${quarantine} (${EVENT_COLUMNS}, reason, status, quarantined_at) ` +
      `SELECT position, id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers, ` +
      `occurred_at, created_at, available_at, attempts + 1, ?, expires_at, ?, ?, ${NOW_MS} FROM ${events} WHERE id = ? ` +
      'ON CONFLICT (id) DO UPDATE SET position = excluded.position, sequence = excluded.sequence, shard = excluded.shard, ' +
      'type = excluded.type, destination = excluded.destination, payload = excluded.payload, headers = excluded.headers, ' +
      'occurred_at = excluded.occurred_at, created_at = excluded.created_at, available_at = excluded.available_at, ' +
      'attempts = excluded.attempts, last_error = excluded.last_error, expires_at = excluded.expires_at, reason = excluded.reason, status = excluded.status, ' +
      'quarantined_at = excluded.quarantined_at, resolved_at = NULL, resolved_by = NULL, resolution_note = NULL',
    /** params: id */
    deleteEvent: `DELETE FROM ${events} WHERE id = ?`,

    /** params: relay_id, ttlMs */
    upsertRelay:
      `INSERT INTO ${relays} (relay_id, expires_at, started_at) VALUES (?, ${NOW_MS} + ?, ${NOW_MS}) ` +
      'ON CONFLICT (relay_id) DO UPDATE SET expires_at = excluded.expires_at',
    /** params: relay_id (never prunes itself, even with a zero ttl) */
    pruneRelays: `DELETE FROM ${relays} WHERE expires_at < ${NOW_MS} AND relay_id <> ?`,
    /** params: relay_id */
    liveRelays: `SELECT relay_id FROM ${relays} WHERE expires_at >= ${NOW_MS} OR relay_id = ? ORDER BY relay_id`,

    /**
     * params: relay_id, relay_id, ttlMs, shards (JSON array), relay_id. One statement, so taking
     * the rows is atomic; SET expressions read the old row, so the epoch moves only when the
     * owner changes. Every lease held afterwards matches the WHERE clause, so RETURNING lists them.
     */
    acquire:
      `UPDATE ${leases} SET epoch = CASE WHEN owner IS ? THEN epoch ELSE epoch + 1 END, owner = ?, expires_at = ${NOW_MS} + ? ` +
      `WHERE shard IN (SELECT value FROM json_each(?)) AND (owner IS NULL OR owner = ? OR expires_at < ${NOW_MS}) ` +
      'RETURNING shard, epoch',
    /** params: ttlMs, relay_id, leases as JSON [[shard, epoch], ...] */
    renew:
      `UPDATE ${leases} SET expires_at = ${NOW_MS} + ? WHERE owner = ? AND EXISTS (SELECT 1 FROM json_each(?) AS held ` +
      `WHERE json_extract(held.value, '$[0]') = ${leases}.shard AND json_extract(held.value, '$[1]') = ${leases}.epoch) ` +
      'RETURNING shard, epoch',
    /** params: relay_id, shards (JSON array) */
    release: `UPDATE ${leases} SET owner = NULL, expires_at = NULL WHERE owner = ? AND shard IN (SELECT value FROM json_each(?))`,
    /** params: relay_id */
    releaseAll: `UPDATE ${leases} SET owner = NULL, expires_at = NULL WHERE owner = ?`,
    /** params: relay_id */
    deleteRelay: `DELETE FROM ${relays} WHERE relay_id = ?`,

    /** The oldest pending row is found through the primary key (lowest position), never a scan. */
    statusFigures:
      `SELECT (SELECT count(*) FROM ${events}) AS backlog, ` +
      `(SELECT (${NOW_MS} - created_at) / 1000.0 FROM ${events} ORDER BY position LIMIT 1) AS oldest_age, ` +
      `(SELECT count(*) FROM ${quarantine} WHERE status IN ('parked', 'dead-lettered')) AS quarantined, ` +
      `(SELECT count(*) FROM (SELECT DISTINCT aggregate_type, aggregate_id FROM ${quarantine} WHERE status = 'parked')) AS parked`,
    /** Live owners; the seconds to expiry is that of the owner's soonest-expiring shard. */
    shardOwners:
      `SELECT owner, count(*) AS shards, (min(expires_at) - ${NOW_MS}) / 1000.0 AS expires_in FROM ${leases} ` +
      `WHERE owner IS NOT NULL AND expires_at >= ${NOW_MS} GROUP BY owner ORDER BY owner`,
  });
}

/** Bound values of `insertEvent`, in its column order. */
export function insertEventParams(envelope: Envelope, sequence: number): unknown[] {
  return [
    envelope.id,
    envelope.aggregateType,
    envelope.aggregateId,
    sequence,
    envelope.shard,
    envelope.type,
    envelope.destination,
    JSON.stringify(envelope.payload),
    JSON.stringify(envelope.headers),
    envelope.occurredAt.getTime(),
    // Absent in envelopes built before expiry existed (a plugin's own objects): never expires.
    envelope.expiresAt ? envelope.expiresAt.getTime() : null,
  ];
}
