import { OutboxConfigError, someCause, type ResolvedTables, type SqlExecutor } from '@outboxkit/core';
import { qualifyTables } from './mysql-identifiers.js';

/**
 * Every statement of the write path and the relay hot path, in one place.
 *
 * Conventions that hold for every statement here:
 * - "Now" is `UTC_TIMESTAMP(3)`, never `NOW()`: columns are `DATETIME(3)` holding UTC, so the
 *   session time zone of whichever connection (the relay's, a user's ORM) never matters.
 * - Times are read back as milliseconds since the epoch (`TIMESTAMPDIFF` is plain arithmetic on
 *   the stored value), and written as UTC strings, so the driver's `timezone` option does not
 *   matter either.
 * - JSON is read as `CAST(... AS CHAR)`: MySQL's JSON type and MariaDB's LONGTEXT alias reach
 *   the driver differently (mysql2 parses some, not others); text is parsed by us in one place.
 * - Values are `?` placeholders with scalar values only, so the same text works with client-side
 *   placeholders (`query`) and server-side prepared statements (`execute`, ORM adapters). Key
 *   lists of locking statements are one JSON array (see ID_LIST); the claim's shard list is
 *   expanded to `?, ?, ?`. Identifiers come from `resolveTables` and are backtick-quoted.
 */

/**
 * InnoDB for row locks and transactions; utf8mb4 for any text; a binary collation so that
 * aggregate ids, event types and relay ids compare exactly ('Order-1' and 'order-1' are two
 * aggregates). Note: `utf8mb4_bin` ignores trailing spaces in comparisons (PAD SPACE), so
 * "a" and "a " share one sequence row; sequences stay ordered, with gaps.
 */
export const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/** The database clock in UTC with millisecond precision. */
export const NOW = 'UTC_TIMESTAMP(3)';
/** `NOW` plus a bound number of microseconds (MySQL has no millisecond interval unit). */
const NOW_PLUS = `DATE_ADD(${NOW}, INTERVAL ? MICROSECOND)`;
/** A DATETIME(3) column as milliseconds since the epoch, independent of the session time zone. */
export const epochMs = (column: string): string => `TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${column}) DIV 1000`;

/** `?, ?, ?` for a list of `count` values. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

/** The columns an event row has in `events`, `published` and `quarantine` alike. */
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
const EVENT_COLUMN_LIST = EVENT_COLUMNS.join(', ');

/** The stored-event columns `claim` reads, in the shape `toStoredEvent` expects. */
const STORED_EVENT_SELECT = [
  'e.position',
  'e.id',
  'e.aggregate_type',
  'e.aggregate_id',
  'e.sequence',
  'e.shard',
  'e.type',
  'e.destination',
  'CAST(e.payload AS CHAR) AS payload',
  'CAST(e.headers AS CHAR) AS headers',
  `${epochMs('e.occurred_at')} AS occurred_at_ms`,
  'e.attempts',
  `${epochMs('e.expires_at')} AS expires_at_ms`,
].join(', ');

/** Formats a Date as a UTC `DATETIME(3)` literal value, to be bound as a parameter. */
export function toUtcDateTime(date: Date): string {
  return date.toISOString().slice(0, 23).replace('T', ' ');
}

/** Microseconds for `NOW_PLUS`; rejects what would silently become a wrong interval. */
export function toMicroseconds(ms: number, name: string): number {
  if (!Number.isFinite(ms) || ms < 0) throw new OutboxConfigError(name, `must be a finite number of milliseconds >= 0, got ${ms}`);
  return Math.round(ms * 1000);
}

/**
 * The keys a locking statement works on, as a table built from ONE bound JSON array and joined
 * first (STRAIGHT_JOIN), so each row is reached by an eq_ref lookup on its unique key.
 *
 * Why not `WHERE id IN (?, ?, ...)`: on a small table (the pending table usually is) the optimizer
 * prefers a full scan, even with FORCE INDEX on a DELETE, and a locking scan waits for EVERY row
 * another transaction holds: marking published events would stall behind a writer's still-open
 * event (the late-commit case), and the fencing read would wait for other relays' leases. Rows are also
 * locked in the array's order, which the dialect sorts, so lock order is deterministic.
 * The column collation matches the table's, or the comparison could not use the index.
 */
const ID_LIST = "JSON_TABLE(?, '$[*]' COLUMNS (id CHAR(36) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$')) AS ids";
const SHARD_LIST = "JSON_TABLE(?, '$[*]' COLUMNS (shard INT PATH '$')) AS s";
const LEASE_LIST = "JSON_TABLE(?, '$[*]' COLUMNS (shard INT PATH '$.shard', epoch BIGINT PATH '$.epoch')) AS s";

/** Builds every statement once per dialect, for its tables. */
export function mysqlStatements(tables: ResolvedTables) {
  const t = qualifyTables(tables);
  const sameAggregate = (alias: string) => `${alias}.aggregate_type = e.aggregate_type AND ${alias}.aggregate_id = e.aggregate_id`;

  return Object.freeze({
    // --- transaction checks (see inTransaction in mysql-dialect.ts) ---
    /** MariaDB (10.3+) only; MySQL answers ER_UNKNOWN_SYSTEM_VARIABLE. */
    inTransaction: 'SELECT @@in_transaction AS in_transaction',
    savepointProbe: 'SAVEPOINT outboxkit_transaction_probe',
    releaseSavepointProbe: 'RELEASE SAVEPOINT outboxkit_transaction_probe',

    // --- write path ---
    /** Around a write's statements: MySQL undoes only a failed statement, this undoes the whole write (core's allOrNothing). */
    writeSavepoint: Object.freeze({
      begin: 'SAVEPOINT outboxkit_write',
      release: 'RELEASE SAVEPOINT outboxkit_write',
      rollback: 'ROLLBACK TO SAVEPOINT outboxkit_write',
    }),
    /**
     * Inserts 1 or increments, and leaves the new value in LAST_INSERT_ID() (and the OK packet's
     * insert id). The row lock it takes serialises writers of one aggregate until commit.
     */
    upsertSequence:
      `INSERT INTO ${t.sequences} (aggregate_type, aggregate_id, last_sequence) VALUES (?, ?, LAST_INSERT_ID(1)) ` +
      'ON DUPLICATE KEY UPDATE last_sequence = LAST_INSERT_ID(last_sequence + 1)',
    lastInsertId: 'SELECT LAST_INSERT_ID() AS value',
    insertEvent:
      `INSERT INTO ${t.events} (id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers, ` +
      `occurred_at, expires_at, created_at, available_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ${NOW}, ${NOW})`,
    countPending: `SELECT COUNT(*) AS count FROM ${t.events}`,

    // --- relay hot path ---
    /**
     * A plain read (no locks): available events of the shards, skipping every aggregate with an
     * earlier event still backing off or a parked quarantine row. Status-based, never a cursor,
     * so a transaction that commits late is still found.
     */
    /** Params: the shards, [a JSON array of ids left out,] the limit. */
    claim: (shardCount: number, excluding = false) =>
      `SELECT ${STORED_EVENT_SELECT} FROM ${t.events} e ` +
      `WHERE e.shard IN (${placeholders(shardCount)}) AND e.available_at <= ${NOW} ` +
      (excluding ? `AND e.id NOT IN (SELECT ids.id FROM ${ID_LIST}) ` : '') +
      `AND NOT EXISTS (SELECT 1 FROM ${t.events} b WHERE ${sameAggregate('b')} AND b.position < e.position AND b.available_at > ${NOW}) ` +
      `AND NOT EXISTS (SELECT 1 FROM ${t.quarantine} q WHERE ${sameAggregate('q')} AND q.status = 'parked') ` +
      'ORDER BY e.position LIMIT ?',
    /** Share locks (held until commit) stop a takeover, whose FOR UPDATE would wait; shard order avoids deadlocks. */
    lockLeaseRows: `SELECT l.shard, l.owner, l.epoch FROM ${SHARD_LIST} STRAIGHT_JOIN ${t.leases} AS l ON l.shard = s.shard ORDER BY l.shard LOCK IN SHARE MODE`,
    copyToPublished:
      `INSERT INTO ${t.published} (${EVENT_COLUMN_LIST}, published_at) ` +
      `SELECT ${EVENT_COLUMNS.map((c) => `e.${c}`).join(', ')}, ${NOW} FROM ${ID_LIST} STRAIGHT_JOIN ${t.events} AS e ON e.id = ids.id`,
    deleteEvents: `DELETE e FROM ${ID_LIST} STRAIGHT_JOIN ${t.events} AS e ON e.id = ids.id`,
    markFailed: `UPDATE ${t.events} SET attempts = attempts + 1, last_error = ?, available_at = ${NOW_PLUS} WHERE id = ?`,
    /** An event an operator retried that fails again replaces its old, resolved quarantine row. */
    deleteResolvedQuarantine: `DELETE FROM ${t.quarantine} WHERE id = ? AND status IN ('retried', 'skipped')`,
    copyToQuarantine:
      `INSERT INTO ${t.quarantine} (${EVENT_COLUMN_LIST}, reason, status, quarantined_at) ` +
      `SELECT ${EVENT_COLUMNS.map((c) => (c === 'attempts' ? 'attempts + 1' : c === 'last_error' ? '?' : c)).join(', ')}, ` +
      `?, ?, ${NOW} FROM ${t.events} WHERE id = ?`,
    /** One unique key by equality is always a single-row lookup, never a scan. */
    deleteEvent: `DELETE FROM ${t.events} WHERE id = ?`,

    // --- leases and membership ---
    /**
     * `ON DUPLICATE KEY UPDATE` repeats the expiry instead of using VALUES(), which MySQL 8.0.20+
     * deprecates and whose replacement (row alias) MariaDB does not support.
     */
    upsertRelay:
      `INSERT INTO ${t.relays} (relay_id, expires_at, started_at) VALUES (?, ${NOW_PLUS}, ${NOW}) ` + `ON DUPLICATE KEY UPDATE expires_at = ${NOW_PLUS}`,
    deleteExpiredRelays: `DELETE FROM ${t.relays} WHERE relay_id <> ? AND expires_at < ${NOW}`,
    liveRelays: `SELECT relay_id FROM ${t.relays} WHERE expires_at >= ${NOW}`,
    /**
     * Rows are locked in the order of the (sorted) JSON array: shard order, as in lockLeaseRows,
     * so the two never deadlock. SKIP LOCKED: a row another session holds (a relay inside its
     * settle transaction, perhaps paused there) is left for a later rebalance instead of
     * stalling the acquisition of every other shard; the statements after it touch only the
     * rows it returned.
     */
    lockLeases: `SELECT l.shard FROM ${SHARD_LIST} STRAIGHT_JOIN ${t.leases} AS l ON l.shard = s.shard FOR UPDATE SKIP LOCKED`,
    /**
     * Two statements, not one with `epoch = IF(owner <=> ?, ...)`: a multi-table UPDATE does not
     * promise the order of its assignments, so no assignment may read a column another one sets.
     */
    takeOverLeases:
      `UPDATE ${SHARD_LIST} STRAIGHT_JOIN ${t.leases} AS l ON l.shard = s.shard ` +
      `SET l.epoch = l.epoch + 1, l.owner = ?, l.expires_at = ${NOW_PLUS} ` +
      `WHERE l.owner IS NULL OR (l.owner <> ? AND l.expires_at < ${NOW})`,
    extendOwnLeases: `UPDATE ${SHARD_LIST} STRAIGHT_JOIN ${t.leases} AS l ON l.shard = s.shard SET l.expires_at = ${NOW_PLUS} WHERE l.owner = ?`,
    heldLeases: `SELECT l.shard, l.epoch FROM ${SHARD_LIST} STRAIGHT_JOIN ${t.leases} AS l ON l.shard = s.shard WHERE l.owner = ? ORDER BY l.shard`,
    renewLeases:
      `UPDATE ${LEASE_LIST} STRAIGHT_JOIN ${t.leases} AS l ON l.shard = s.shard ` + `SET l.expires_at = ${NOW_PLUS} WHERE l.owner = ? AND l.epoch = s.epoch`,
    heldOfLeases:
      `SELECT l.shard, l.epoch FROM ${LEASE_LIST} STRAIGHT_JOIN ${t.leases} AS l ON l.shard = s.shard ` +
      'WHERE l.owner = ? AND l.epoch = s.epoch ORDER BY l.shard',
    releaseLeases: `UPDATE ${SHARD_LIST} STRAIGHT_JOIN ${t.leases} AS l ON l.shard = s.shard SET l.owner = NULL, l.expires_at = NULL WHERE l.owner = ?`,
    releaseAllLeases: `UPDATE ${t.leases} SET owner = NULL, expires_at = NULL WHERE owner = ?`,
    deleteRelay: `DELETE FROM ${t.relays} WHERE relay_id = ?`,

    // --- status ---
    /** The oldest pending row is found through the primary key (ORDER BY position LIMIT 1), never a scan. */
    statusFigures:
      `SELECT (SELECT COUNT(*) FROM ${t.events}) AS backlog, ` +
      `(SELECT TIMESTAMPDIFF(MICROSECOND, created_at, ${NOW}) FROM ${t.events} ORDER BY position LIMIT 1) AS oldest_age_us, ` +
      `(SELECT COUNT(*) FROM ${t.quarantine} WHERE status IN ('parked', 'dead-lettered')) AS quarantined, ` +
      `(SELECT COUNT(DISTINCT aggregate_type, aggregate_id) FROM ${t.quarantine} WHERE status = 'parked') AS parked_aggregates`,
    shardOwners:
      `SELECT owner, COUNT(*) AS shards, MIN(TIMESTAMPDIFF(MICROSECOND, ${NOW}, expires_at)) AS expires_in_us ` +
      `FROM ${t.leases} WHERE owner IS NOT NULL AND expires_at >= ${NOW} GROUP BY owner ORDER BY owner`,
  });
}

export type MysqlStatements = ReturnType<typeof mysqlStatements>;

/**
 * Whether `exec` is inside an open transaction, without `@@in_transaction` (which MySQL lacks):
 * outside a transaction a savepoint is not kept, so releasing it fails with
 * ER_SP_DOES_NOT_EXIST (1305). Inside one, the savepoint is created and released, changing nothing.
 */
export async function probeTransactionWithSavepoint(exec: SqlExecutor, statements: MysqlStatements): Promise<boolean> {
  await exec.query(statements.savepointProbe);
  try {
    await exec.query(statements.releaseSavepointProbe);
    return true;
  } catch (error) {
    if (hasErrno(error, 1305, 'ER_SP_DOES_NOT_EXIST')) return false;
    throw error;
  }
}

/**
 * Matches a MySQL error by number or code, also when an ORM wrapped the driver error as `cause`
 * (Sequelize, MikroORM; Prisma's executor unwraps its driver-adapter errors into one carrying
 * `errno`, see `PrismaDriverError`).
 */
export function hasErrno(error: unknown, errno: number, code: string): boolean {
  return someCause(error, (candidate) => {
    const { errno: n, code: c } = candidate as { errno?: unknown; code?: unknown };
    return n === errno || c === code;
  });
}
