import { type Dialect, type HistoryEvent, type HistoryQuery, type QuarantineEntry, type ResolvedTables, type SqlDatabase, type SqlExecutor, resolveQuarantined, type QuarantineStatements } from '@outboxkit/core';
import { toNumber, toNumberOrNull, toStoredEvent, type EventRow } from './mysql-rows.js';
import { EVENT_COLUMNS, NOW, placeholders, qualifyTables, toUtcDateTime } from './mysql-sql.js';

/** The dialect methods behind `outbox-relay replay | quarantine | reconcile | cleanup`. */
export type OperationsMethods = Pick<
  Dialect,
  'currentTime' | 'readHistory' | 'listQuarantine' | 'retryQuarantined' | 'skipQuarantined' | 'deleteHistoryBefore'
>;

/** A DATETIME(3) column as epoch milliseconds, independent of the session time zone (as in mysql-sql.ts). */
const epochMs = (column: string): string => `TIMESTAMPDIFF(MICROSECOND, '1970-01-01 00:00:00', ${column}) DIV 1000`;

const HISTORY_COLUMNS = [
  'position', 'id', 'aggregate_type', 'aggregate_id', 'sequence', 'shard', 'type', 'destination',
  'CAST(payload AS CHAR) AS payload', 'CAST(headers AS CHAR) AS headers',
  `${epochMs('occurred_at')} AS occurred_at_ms`, 'attempts', `${epochMs('published_at')} AS published_at_ms`,
].join(', ');

const QUARANTINE_COLUMNS = [
  'position', 'id', 'aggregate_type', 'aggregate_id', 'sequence', 'type', 'destination', 'attempts', 'reason', 'status',
  `${epochMs('quarantined_at')} AS quarantined_at_ms`, `${epochMs('resolved_at')} AS resolved_at_ms`, 'resolved_by', 'resolution_note',
].join(', ');

const POSITION_LIST = "JSON_TABLE(?, '$[*]' COLUMNS (position BIGINT PATH '$')) AS doomed";

/** Statements of the operations commands; identifiers validated and backtick-quoted, values always `?`. */
export function mysqlOperationStatements(tables: ResolvedTables) {
  const t = qualifyTables(tables);
  return Object.freeze({
    currentTime: `SELECT ${epochMs(NOW)} AS now_ms`,
    /** The WHERE clause grows with the filters given; each one adds only bound parameters. */
    readHistory(query: HistoryQuery, limit: number): { text: string; params: unknown[] } {
      const params: unknown[] = [query.afterPosition];
      const where = ['position > ?'];
      if (query.ids !== undefined) {
        where.push(`id IN (${placeholders(query.ids.length)})`);
        params.push(...query.ids);
      }
      if (query.aggregate !== undefined) {
        where.push('aggregate_type = ? AND aggregate_id = ?');
        params.push(query.aggregate.type, query.aggregate.id);
      }
      if (query.since !== undefined) {
        where.push('published_at >= ?');
        params.push(toUtcDateTime(query.since));
      }
      if (query.until !== undefined) {
        where.push('published_at < ?');
        params.push(toUtcDateTime(query.until));
      }
      params.push(Math.floor(limit));
      return { text: `SELECT ${HISTORY_COLUMNS} FROM ${t.published} WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`, params };
    },
    /** params: include resolved (0/1), limit. */
    listQuarantine:
      `SELECT ${QUARANTINE_COLUMNS} FROM ${t.quarantine} WHERE ? = 1 OR status IN ('parked', 'dead-lettered') ` +
      'ORDER BY quarantined_at, position LIMIT ?',
    /** params: id. A unique-key lookup, so the lock is one row; a concurrent retry of the same id waits, then sees it resolved. */
    lockQuarantined: `SELECT status FROM ${t.quarantine} WHERE id = ? FOR UPDATE`,
    /** params: id. Original position: the event goes back before every later event of its aggregate. */
    restoreQuarantined:
      `INSERT INTO ${t.events} (${EVENT_COLUMNS.join(', ')}) ` +
      'SELECT position, id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers, ' +
      `occurred_at, created_at, ${NOW}, 0, NULL FROM ${t.quarantine} WHERE id = ?`,
    /** params: status, by, note, id. */
    resolveQuarantined: `UPDATE ${t.quarantine} SET status = ?, resolved_at = ${NOW}, resolved_by = ?, resolution_note = ? WHERE id = ?`,
    /**
     * params: cutoff, limit. A plain (non-locking) read of the oldest candidates: a locking
     * range scan would take next-key locks up to the newest row and stall the relay's inserts
     * into history, so rows are locked afterwards by primary key only.
     */
    oldHistory: `SELECT position FROM ${t.published} WHERE published_at < ? ORDER BY published_at LIMIT ?`,
    /** params: positions (JSON array, sorted). Primary-key lookups; rows another cleanup holds are skipped. */
    lockHistory:
      `SELECT p.position FROM ${POSITION_LIST} STRAIGHT_JOIN ${t.published} AS p ON p.position = doomed.position ` +
      'ORDER BY p.position FOR UPDATE SKIP LOCKED',
    /** params: positions (JSON array). */
    deleteHistory: `DELETE p FROM ${POSITION_LIST} STRAIGHT_JOIN ${t.published} AS p ON p.position = doomed.position`,
  });
}

interface QuarantineRow {
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

/** The operations methods of the MySQL / MariaDB dialect. */
export function mysqlOperations(tables: ResolvedTables): OperationsMethods {
  const sql = mysqlOperationStatements(tables);

  const quarantineStatements: QuarantineStatements = {
    async lockStatus(tx, id) {
      return (await tx.query<{ status: QuarantineEntry['status'] }>(sql.lockQuarantined, [id])).rows[0]?.status;
    },
    async restore(tx, id) {
      await tx.query(sql.restoreQuarantined, [id]);
    },
    async markResolved(tx, id, status, resolution) {
      await tx.query(sql.resolveQuarantined, [status, resolution.by, resolution.note, id]);
    },
  };

  return {
    async currentTime(exec) {
      const { rows } = await exec.query<{ now_ms: unknown }>(sql.currentTime);
      return new Date(toNumber(rows[0]?.now_ms));
    },

    async readHistory(exec, query, limit) {
      const { text, params } = sql.readHistory(query, limit);
      const { rows } = await exec.query<EventRow & { published_at_ms: unknown }>(text, params);
      return rows.map((row): HistoryEvent => Object.freeze({ ...toStoredEvent(row), publishedAt: new Date(toNumber(row.published_at_ms)) }));
    },

    async listQuarantine(exec, options) {
      const { rows } = await exec.query<QuarantineRow>(sql.listQuarantine, [options.includeResolved ? 1 : 0, Math.floor(options.limit)]);
      return rows.map((row): QuarantineEntry => {
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
      });
    },

    retryQuarantined: (tx, id, resolution) => resolveQuarantined(tx, id, 'retried', resolution, quarantineStatements),
    skipQuarantined: (tx, id, resolution) => resolveQuarantined(tx, id, 'skipped', resolution, quarantineStatements),

    async deleteHistoryBefore(exec, cutoff, limit) {
      return inOneTransaction(exec, async (tx) => {
        const candidates = await tx.query<{ position: unknown }>(sql.oldHistory, [toUtcDateTime(cutoff), Math.floor(limit)]);
        if (candidates.rows.length === 0) return 0;
        // Sorted, so two cleanups lock rows in the same order.
        const positions = candidates.rows.map((row) => toNumber(row.position)).sort((a, b) => a - b);
        const locked = await tx.query<{ position: unknown }>(sql.lockHistory, [JSON.stringify(positions)]);
        if (locked.rows.length === 0) return 0;
        const mine = JSON.stringify(locked.rows.map((row) => toNumber(row.position)));
        return (await tx.query(sql.deleteHistory, [mine])).rowCount;
      });
    },
  };
}

/** A pool gets a transaction of its own, so the locks of one batch are held until its delete commits. */
function inOneTransaction<T>(exec: SqlExecutor, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  return typeof (exec as Partial<SqlDatabase>).transaction === 'function' ? (exec as SqlDatabase).transaction(fn) : fn(exec);
}
