import { type Dialect, type HistoryEvent, type HistoryQuery, type QuarantineEntry, type ResolvedTables, resolveQuarantined, type QuarantineStatements } from '@outboxkit/core';
import { EVENT_COLUMNS, NOW_MS, quoteIdentifier, toStoredEvent, type EventRow } from './sqlite-sql.js';

/** The dialect methods behind `outbox-relay replay | quarantine | reconcile | cleanup`. */
export type OperationsMethods = Pick<
  Dialect,
  'currentTime' | 'readHistory' | 'listQuarantine' | 'retryQuarantined' | 'skipQuarantined' | 'deleteHistoryBefore'
>;

const HISTORY_COLUMNS =
  'position, id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers, occurred_at, attempts, published_at';

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
      `SELECT ${QUARANTINE_COLUMNS} FROM ${quarantine} WHERE ? = 1 OR status IN ('parked', 'dead-lettered') ` +
      'ORDER BY quarantined_at, position LIMIT ?',
    /** params: id. No row locks in SQLite: the transaction (BEGIN IMMEDIATE) holds the write lock. */
    quarantineStatus: `SELECT status FROM ${quarantine} WHERE id = ?`,
    /** params: id. Original position: the event goes back before every later event of its aggregate. */
    restoreQuarantined:
      `INSERT INTO ${events} (${EVENT_COLUMNS}) ` +
      'SELECT position, id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers, ' +
      `occurred_at, created_at, ${NOW_MS}, 0, NULL FROM ${quarantine} WHERE id = ?`,
    /** params: status, by, note, id. */
    resolveQuarantined: `UPDATE ${quarantine} SET status = ?, resolved_at = ${NOW_MS}, resolved_by = ?, resolution_note = ? WHERE id = ?`,
    /**
     * params: cutoff ms, limit. One statement: SQLite has one writer at a time, so concurrent
     * cleanups take turns (the driver's busy handling waits) and each deletes rows that still exist.
     */
    deleteHistoryBefore:
      `DELETE FROM ${published} WHERE position IN ` +
      `(SELECT position FROM ${published} WHERE published_at < ? ORDER BY published_at LIMIT ?)`,
  });
}

interface QuarantineRow {
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

/** The operations methods of the SQLite dialect. */
export function sqliteOperations(tables: ResolvedTables): OperationsMethods {
  const sql = sqliteOperationStatements(tables);

  const quarantineStatements: QuarantineStatements = {
    async lockStatus(tx, id) {
      return (await tx.query<{ status: QuarantineEntry['status'] }>(sql.quarantineStatus, [id])).rows[0]?.status;
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
      return rows.map(
        (row): QuarantineEntry =>
          Object.freeze({
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
          }),
      );
    },

    retryQuarantined: (tx, id, resolution) => resolveQuarantined(tx, id, 'retried', resolution, quarantineStatements),
    skipQuarantined: (tx, id, resolution) => resolveQuarantined(tx, id, 'skipped', resolution, quarantineStatements),

    async deleteHistoryBefore(exec, cutoff, limit) {
      return (await exec.query(sql.deleteHistoryBefore, [cutoff.getTime(), Math.floor(limit)])).rowCount;
    },
  };
}
