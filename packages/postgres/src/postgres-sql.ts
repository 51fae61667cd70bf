import type { ResolvedTables } from '@outboxkit/core';
import { qualifiedTable } from './postgres-identifiers.js';
import { claimFunction } from './postgres-migrations.js';

/**
 * Every statement of the write path and the relay hot path, built once per dialect from the
 * validated, quoted table names. Values are always `$n` parameters; identifiers are the only
 * text spliced in, and they passed `validateIdentifier` first.
 */
export interface PostgresStatements {
  /** Equal in autocommit (one implicit statement), different after `BEGIN`. */
  readonly inTransaction: string;
  /** $1 aggregate_type, $2 aggregate_id, $3 id, $4 shard, $5 type, $6 destination, $7 payload, $8 headers, $9 occurred_at, $10 expires_at. */
  readonly insertEvent: string;
  /** As insertEvent, $11 the NOTIFY channel, $12 its payload (the schema, or ''). */
  readonly insertEventNotify: string;
  readonly countPending: string;
  /** $1 shards int[], $2 limit. */
  readonly claim: string;
  /** As claim, $3 ids uuid[] left out. */
  readonly claimExcluding: string;
  /** $1 shards int[]. */
  readonly lockLeaseRows: string;
  /** $1 ids uuid[]; keeps history. */
  readonly markPublishedKeep: string;
  /** $1 ids uuid[]; history off. */
  readonly markPublishedDelete: string;
  /** $1 id, $2 error, $3 retry in ms. */
  readonly markFailed: string;
  /** $1 id, $2 reason, $3 status. */
  readonly quarantine: string;
  /** $1 relay id, $2 ttl ms. */
  readonly heartbeat: string;
  /** $1 relay id, $2 shards int[], $3 ttl ms. */
  readonly acquire: string;
  /** $1 relay id, $2 shards int[], $3 epochs bigint[], $4 ttl ms. */
  readonly renew: string;
  /** $1 relay id, $2 shards int[]. */
  readonly release: string;
  /** $1 relay id. */
  readonly leave: string;
  readonly statusCounts: string;
  readonly statusOwners: string;
}

/** The columns `events`, `published` and `quarantine` share; history rows keep the pending row's position. */
export const EVENT_COLUMNS = [
  'position',
  'id',
  'aggregate_type',
  'aggregate_id',
  'sequence',
  'shard',
  'type',
  'destination',
  'payload',
  'headers',
  'occurred_at',
  'created_at',
  'available_at',
  'attempts',
  'last_error',
  'expires_at',
] as const;

function insertEventStatement(sequences: string, events: string, alsoFrom: string): string {
  return `WITH next AS (
  INSERT INTO ${sequences} AS s (aggregate_type, aggregate_id, last_sequence)
  VALUES ($1, $2, 1)
  ON CONFLICT (aggregate_type, aggregate_id) DO UPDATE SET last_sequence = s.last_sequence + 1
  RETURNING last_sequence
), inserted AS (
  INSERT INTO ${events} (id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers, occurred_at, expires_at)
  SELECT $3::uuid, $1, $2, next.last_sequence, $4::smallint, $5, $6, $7::jsonb, $8::jsonb, $9::timestamptz, $10::timestamptz
  FROM next
  RETURNING sequence
)
SELECT inserted.sequence FROM inserted${alsoFrom}`;
}

// `interval * float8` keeps sub-second ttls exact; the value is always a bound parameter.
const millis = (param: string): string => `(${param}::float8 * interval '1 millisecond')`;

export function postgresStatements(tables: ResolvedTables): PostgresStatements {
  const events = qualifiedTable(tables, 'events');
  const sequences = qualifiedTable(tables, 'sequences');
  const published = qualifiedTable(tables, 'published');
  const quarantine = qualifiedTable(tables, 'quarantine');
  const leases = qualifiedTable(tables, 'leases');
  const relays = qualifiedTable(tables, 'relays');
  const columns = EVENT_COLUMNS.join(', ');

  return Object.freeze({
    inTransaction: 'SELECT transaction_timestamp() <> statement_timestamp() AS in_transaction',

    // One round trip per event: the upsert takes (or waits for) the aggregate's row lock and
    // hands its new value to the event insert, so sequence order is commit order per aggregate.
    insertEvent: insertEventStatement(sequences, events, ''),

    // The same, and the NOTIFY in the same round trip (the last event of a write sends it): a
    // separate `SELECT pg_notify` cost every writing transaction one more round trip. Delivered
    // at commit only, and folded into one per transaction by the server. The payload names the
    // schema, so a relay process serving many schemas wakes only that tenant's relay.
    insertEventNotify: insertEventStatement(sequences, events, `, (SELECT pg_notify($11, $12)) AS notified`),

    countPending: `SELECT count(*) AS n FROM ${events}`,

    // Through the claim function (migrations 3 to 5): its plan is fixed whatever the planner statistics say.
    claim: `SELECT * FROM ${claimFunction(tables)}($1::int[], $2::int)`,
    // The function's plan stays fixed; the excluded rows are dropped here, so it reads as many more.
    claimExcluding:
      `SELECT * FROM ${claimFunction(tables)}($1::int[], $2::int + cardinality($3::uuid[])) c ` +
      'WHERE NOT (c.id = ANY($3::uuid[])) ORDER BY c."position" LIMIT $2::int',

    // Share locks, in shard order like acquire's update locks, so fencing and acquire never deadlock.
    lockLeaseRows: `SELECT shard, owner, epoch FROM ${leases} WHERE shard = ANY($1::int[]) ORDER BY shard FOR SHARE`,

    markPublishedKeep: `WITH moved AS (
  DELETE FROM ${events} WHERE id = ANY($1::uuid[]) RETURNING ${columns}
)
INSERT INTO ${published} (${columns}, published_at)
SELECT ${columns}, now() FROM moved`,

    markPublishedDelete: `DELETE FROM ${events} WHERE id = ANY($1::uuid[])`,

    markFailed: `UPDATE ${events}
SET attempts = attempts + 1, last_error = $2, available_at = now() + ${millis('$3')}
WHERE id = $1::uuid`,

    // The quarantine key is the event id: an event retried from quarantine that fails again
    // replaces its earlier, resolved entry instead of failing the relay on a duplicate key.
    quarantine: `WITH moved AS (
  DELETE FROM ${events} WHERE id = $1::uuid RETURNING ${columns}
)
INSERT INTO ${quarantine} (${columns}, reason, status, quarantined_at)
SELECT position, id, aggregate_type, aggregate_id, sequence, shard, type, destination,
       payload, headers, occurred_at, created_at, available_at, attempts + 1, $2, expires_at, $2, $3, now()
FROM moved
ON CONFLICT (id) DO UPDATE SET
  position = EXCLUDED.position, sequence = EXCLUDED.sequence, payload = EXCLUDED.payload,
  headers = EXCLUDED.headers, available_at = EXCLUDED.available_at, attempts = EXCLUDED.attempts, expires_at = EXCLUDED.expires_at,
  last_error = EXCLUDED.last_error, reason = EXCLUDED.reason, status = EXCLUDED.status,
  quarantined_at = EXCLUDED.quarantined_at, resolved_at = NULL, resolved_by = NULL, resolution_note = NULL`,

    // One statement: the CTEs run exactly once even though the SELECT reads only one of them.
    // The outer SELECT sees the table as it was before them, hence the UNION with `me`.
    // COLLATE "C" sorts by bytes, like JavaScript, so every relay derives the same shard split.
    heartbeat: `WITH me AS (
  INSERT INTO ${relays} AS r (relay_id, expires_at, started_at)
  VALUES ($1, now() + ${millis('$2')}, now())
  ON CONFLICT (relay_id) DO UPDATE SET expires_at = EXCLUDED.expires_at
  RETURNING relay_id
), expired AS (
  DELETE FROM ${relays} WHERE expires_at < now() AND relay_id <> $1
)
SELECT relay_id FROM (
  SELECT relay_id FROM me
  UNION
  SELECT relay_id FROM ${relays} WHERE expires_at >= now() AND relay_id <> $1
) live
ORDER BY relay_id COLLATE "C"`,

    // Lock the candidate rows in shard order first, then update: the epoch moves only when the
    // owner changes, which is what fences the previous owner. SKIP LOCKED: a row another session
    // holds (a relay inside its settle transaction, perhaps paused there) is left for a later
    // rebalance instead of stalling this relay's acquisition of every other shard.
    acquire: `WITH candidates AS (
  SELECT shard FROM ${leases}
  WHERE shard = ANY($2::int[]) AND (owner IS NULL OR owner = $1 OR expires_at < now())
  ORDER BY shard
  FOR UPDATE SKIP LOCKED
)
UPDATE ${leases} AS l
SET owner = $1,
    expires_at = now() + ${millis('$3')},
    epoch = CASE WHEN l.owner IS DISTINCT FROM $1 THEN l.epoch + 1 ELSE l.epoch END
FROM candidates c
WHERE l.shard = c.shard
RETURNING l.shard, l.epoch`,

    renew: `UPDATE ${leases} AS l
SET expires_at = now() + ${millis('$4')}
FROM unnest($2::int[], $3::bigint[]) AS held(shard, epoch)
WHERE l.owner = $1 AND l.shard = held.shard AND l.epoch = held.epoch
RETURNING l.shard, l.epoch`,

    release: `UPDATE ${leases} SET owner = NULL, expires_at = NULL WHERE owner = $1 AND shard = ANY($2::int[])`,

    leave: `WITH released AS (
  UPDATE ${leases} SET owner = NULL, expires_at = NULL WHERE owner = $1
)
DELETE FROM ${relays} WHERE relay_id = $1`,

    // The oldest pending row is the lowest position: one primary-key probe, never a scan.
    statusCounts: `SELECT
  (SELECT count(*) FROM ${events}) AS backlog,
  (SELECT extract(epoch FROM now() - created_at) FROM ${events} ORDER BY position LIMIT 1) AS oldest_age,
  (SELECT count(*) FROM ${quarantine} WHERE status IN ('parked', 'dead-lettered')) AS quarantined,
  (SELECT count(*) FROM (SELECT DISTINCT aggregate_type, aggregate_id FROM ${quarantine} WHERE status = 'parked') p) AS parked`,

    statusOwners: `SELECT owner, count(*) AS shards, extract(epoch FROM min(expires_at) - now()) AS expires_in
FROM ${leases}
WHERE owner IS NOT NULL AND expires_at > now()
GROUP BY owner
ORDER BY owner COLLATE "C"`,
  });
}
