import { sqlQuarantineStatements, type HistoryEvent, type HistoryQuery, type OperationsDialect, type ResolvedTables } from '@outboxkit/core';
import { quoteIdentifier } from './sqlite-identifiers.js';
import { toQuarantineEntry, toStoredEvent, type EventRow, type QuarantineRow } from './sqlite-rows.js';
import { EVENT_COLUMNS, NOW_MS } from './sqlite-sql.js';

/** The dialect methods behind `outbox-relay replay | quarantine | reconcile | cleanup` (`status` is the relay store's). */
export type OperationsMethods = Omit<OperationsDialect, 'name' | 'tables' | 'status'>;

const HISTORY_COLUMNS =
  'position, id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers, occurred_at, attempts, expires_at, published_at';

const QUARANTINE_COLUMNS =
  'position, id, aggregate_type, aggregate_id, sequence, type, destination, attempts, reason, status, ' +
  'quarantined_at, resolved_at, resolved_by, resolution_note';

/** Statements of the operations commands; identifiers validated and quoted, values always `?`; times are epoch ms. */
export function sqliteOperationStatements(tables: ResolvedTables) {
  const events = quoteIdentifier(tables.names.events);
  const published = quoteIdentifier(tables.names.published);
  const quarantine = quoteIdentifier(tables.names.quarantine);
  return Object.freeze({
    currentTime: `SELECT ${NOW_MS} AS now_ms`,
    /** The WHERE clause grows with the filters given; each one adds only bound parameters. Ids are one JSON array. */
    readHistory(query: HistoryQuery, limit: number): { text: string; params: unknown[] } {
      const params: unknown[] = [query.afterPosition];
      const where = ['position > ?'];
      if (query.ids !== undefined) {
        where.push('id IN (SELECT value FROM json_each(?))');
        params.push(JSON.stringify(query.ids));
      }
      if (query.aggregate !== undefined) {
        where.push('aggregate_type = ? AND aggregate_id = ?');
        params.push(query.aggregate.type, query.aggregate.id);
      }
      if (query.since !== undefined) {
        where.push('published_at >= ?');
        params.push(query.since.getTime());
      }
      if (query.until !== undefined) {
        where.push('published_at < ?');
        params.push(query.until.getTime());
      }
      params.push(Math.floor(limit));
      return { text: `SELECT ${HISTORY_COLUMNS} FROM ${published} WHERE ${where.join(' AND ')} ORDER BY position LIMIT ?`, params };
    },
    /** params: include resolved (0/1), limit. */
    listQuarantine:
      `SELECT ${QUARANTINE_COLUMNS} FROM ${quarantine} WHERE ? = 1 OR status IN ('parked', 'dead-lettered') ` + 'ORDER BY quarantined_at, position LIMIT ?',
    /** params: id. No row locks in SQLite: the transaction (BEGIN IMMEDIATE) holds the write lock. */
    lockQuarantined: `SELECT status FROM ${quarantine} WHERE id = ?`,
    /** params: ignore expiry (1 clears expires_at), id. Original position: the event goes back before every later event of its aggregate. */
    restoreQuarantined:
      `INSERT INTO ${events} (${EVENT_COLUMNS}) ` +
      'SELECT position, id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers, ' +
      `occurred_at, created_at, ${NOW_MS}, 0, NULL, CASE WHEN ? = 1 THEN NULL ELSE expires_at END FROM ${quarantine} WHERE id = ?`,
    /** params: status, by, note, id. */
    markQuarantineResolved: `UPDATE ${quarantine} SET status = ?, resolved_at = ${NOW_MS}, resolved_by = ?, resolution_note = ? WHERE id = ?`,
    /**
     * params: cutoff ms, limit. One statement: SQLite has one writer at a time, so concurrent
     * cleanups take turns (the driver's busy handling waits) and each deletes rows that still exist.
     */
    deleteHistoryBefore:
      `DELETE FROM ${published} WHERE position IN ` + `(SELECT position FROM ${published} WHERE published_at < ? ORDER BY published_at LIMIT ?)`,
  });
}

/** The operations methods of the SQLite dialect. */
export function sqliteOperations(tables: ResolvedTables): OperationsMethods {
  const sql = sqliteOperationStatements(tables);

  return {
    ...sqlQuarantineStatements(sql),

    async currentTime(exec) {
      const { rows } = await exec.query<{ now_ms: number }>(sql.currentTime);
      return new Date(rows[0]!.now_ms);
    },

    async readHistory(exec, query, limit) {
      const { text, params } = sql.readHistory(query, limit);
      const { rows } = await exec.query<EventRow & { published_at: number }>(text, params);
      return rows.map((row): HistoryEvent => Object.freeze({ ...toStoredEvent(row), publishedAt: new Date(row.published_at) }));
    },

    async listQuarantine(exec, options) {
      const { rows } = await exec.query<QuarantineRow>(sql.listQuarantine, [options.includeResolved ? 1 : 0, Math.floor(options.limit)]);
      return rows.map(toQuarantineEntry);
    },

    async deleteHistoryBefore(exec, cutoff, limit) {
      return (await exec.query(sql.deleteHistoryBefore, [cutoff.getTime(), Math.floor(limit)])).rowCount;
    },
  };
}
