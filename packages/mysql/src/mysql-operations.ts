import { sqlQuarantineStatements, type HistoryEvent, type HistoryQuery, type OperationsDialect, type ResolvedTables } from '@outboxkit/core';
import { inOneTransaction } from './mysql-driver.js';
import { qualifyTables } from './mysql-identifiers.js';
import { toNumber, toQuarantineEntry, toStoredEvent, type EventRow, type QuarantineRow } from './mysql-rows.js';
import { EVENT_COLUMNS, NOW, epochMs, placeholders, toUtcDateTime } from './mysql-sql.js';

/** The dialect methods behind `outbox-relay replay | quarantine | reconcile | cleanup` (`status` is the relay store's). */
export type OperationsMethods = Omit<OperationsDialect, 'name' | 'tables' | 'status'>;

const HISTORY_COLUMNS = [
  'position',
  'id',
  'aggregate_type',
  'aggregate_id',
  'sequence',
  'shard',
  'type',
  'destination',
  'CAST(payload AS CHAR) AS payload',
  'CAST(headers AS CHAR) AS headers',
  `${epochMs('occurred_at')} AS occurred_at_ms`,
  'attempts',
  `${epochMs('expires_at')} AS expires_at_ms`,
  `${epochMs('published_at')} AS published_at_ms`,
].join(', ');

const QUARANTINE_COLUMNS = [
  'position',
  'id',
  'aggregate_type',
  'aggregate_id',
  'sequence',
  'type',
  'destination',
  'attempts',
  'reason',
  'status',
  `${epochMs('quarantined_at')} AS quarantined_at_ms`,
  `${epochMs('resolved_at')} AS resolved_at_ms`,
  'resolved_by',
  'resolution_note',
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
      `SELECT ${QUARANTINE_COLUMNS} FROM ${t.quarantine} WHERE ? = 1 OR status IN ('parked', 'dead-lettered') ` + 'ORDER BY quarantined_at, position LIMIT ?',
    /** params: id. A unique-key lookup, so the lock is one row; a concurrent retry of the same id waits, then sees it resolved. */
    lockQuarantined: `SELECT status FROM ${t.quarantine} WHERE id = ? FOR UPDATE`,
    /** params: ignore expiry (1 clears expires_at), id. Original position: the event goes back before every later event of its aggregate. */
    restoreQuarantined:
      `INSERT INTO ${t.events} (${EVENT_COLUMNS.join(', ')}) ` +
      'SELECT position, id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers, ' +
      `occurred_at, created_at, ${NOW}, 0, NULL, CASE WHEN ? = 1 THEN NULL ELSE expires_at END FROM ${t.quarantine} WHERE id = ?`,
    /** params: status, by, note, id. */
    markQuarantineResolved: `UPDATE ${t.quarantine} SET status = ?, resolved_at = ${NOW}, resolved_by = ?, resolution_note = ? WHERE id = ?`,
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

/** The operations methods of the MySQL / MariaDB dialect. */
export function mysqlOperations(tables: ResolvedTables): OperationsMethods {
  const sql = mysqlOperationStatements(tables);

  return {
    ...sqlQuarantineStatements(sql),

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
      return rows.map(toQuarantineEntry);
    },

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
