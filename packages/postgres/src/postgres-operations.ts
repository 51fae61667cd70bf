import { sqlQuarantineStatements, type HistoryEvent, type HistoryQuery, type OperationsDialect, type ResolvedTables } from '@outboxkit/core';
import { qualifiedTable } from './postgres-identifiers.js';
import { toDate, toQuarantineEntry, toStoredEvent, type EventRow, type QuarantineRow } from './postgres-rows.js';
import { EVENT_COLUMNS } from './postgres-sql.js';

/** The dialect methods behind `outbox-relay replay | quarantine | reconcile | cleanup` (`status` is the relay store's). */
export type OperationsMethods = Omit<OperationsDialect, 'name' | 'tables' | 'status'>;

const HISTORY_COLUMNS =
  'position, id, aggregate_type, aggregate_id, sequence, shard, type, destination, ' +
  'payload::text AS payload, headers::text AS headers, occurred_at, attempts, expires_at, published_at';

const QUARANTINE_COLUMNS =
  'position, id, aggregate_type, aggregate_id, sequence, type, destination, attempts, reason, status, ' +
  'quarantined_at, resolved_at, resolved_by, resolution_note';

/** Statements of the operations commands; identifiers validated and quoted, values always `$n`. */
export function postgresOperationStatements(tables: ResolvedTables) {
  const events = qualifiedTable(tables, 'events');
  const published = qualifiedTable(tables, 'published');
  const quarantine = qualifiedTable(tables, 'quarantine');
  return Object.freeze({
    currentTime: 'SELECT now() AS now',
    /** The WHERE clause grows with the filters given; each one adds only bound parameters. */
    readHistory(query: HistoryQuery, limit: number): { text: string; params: unknown[] } {
      const params: unknown[] = [query.afterPosition];
      const where = ['position > $1::bigint'];
      const param = (value: unknown, cast: string): string => `$${params.push(value)}::${cast}`;
      if (query.ids !== undefined) where.push(`id = ANY(${param(query.ids, 'uuid[]')})`);
      if (query.aggregate !== undefined) {
        where.push(`aggregate_type = ${param(query.aggregate.type, 'text')} AND aggregate_id = ${param(query.aggregate.id, 'text')}`);
      }
      if (query.since !== undefined) where.push(`published_at >= ${param(query.since.toISOString(), 'timestamptz')}`);
      if (query.until !== undefined) where.push(`published_at < ${param(query.until.toISOString(), 'timestamptz')}`);
      const text = `SELECT ${HISTORY_COLUMNS} FROM ${published} WHERE ${where.join(' AND ')} ORDER BY position LIMIT ${param(limit, 'int')}`;
      return { text, params };
    },
    /** $1 include resolved, $2 limit. */
    listQuarantine: `SELECT ${QUARANTINE_COLUMNS} FROM ${quarantine}
WHERE $1::boolean OR status IN ('parked', 'dead-lettered')
ORDER BY quarantined_at, position
LIMIT $2::int`,
    /** $1 id. Locks the row so a concurrent retry or skip of the same event waits and then sees it resolved. */
    lockQuarantined: `SELECT status FROM ${quarantine} WHERE id = $1::uuid FOR UPDATE`,
    /**
     * $1 ignore expiry (1 clears expires_at), $2 id. The original position puts the event back
     * before every later event of its aggregate; attempts 0 and available now give it a fresh start.
     */
    restoreQuarantined: `INSERT INTO ${events} (${EVENT_COLUMNS.join(', ')})
SELECT position, id, aggregate_type, aggregate_id, sequence, shard, type, destination, payload, headers,
       occurred_at, created_at, now(), 0, NULL, CASE WHEN $1::int = 1 THEN NULL ELSE expires_at END
FROM ${quarantine} WHERE id = $2::uuid`,
    /** $1 status, $2 by, $3 note, $4 id (the order core's sqlQuarantineStatements binds). */
    markQuarantineResolved: `UPDATE ${quarantine} SET status = $1, resolved_at = now(), resolved_by = $2, resolution_note = $3 WHERE id = $4::uuid`,
    /**
     * $1 cutoff, $2 limit. Oldest first through the published_at index; rows another cleanup
     * has locked are skipped, so concurrent cleanups split the work instead of queueing.
     */
    deleteHistoryBefore: `WITH doomed AS (
  SELECT position FROM ${published} WHERE published_at < $1::timestamptz
  ORDER BY published_at LIMIT $2::int
  FOR UPDATE SKIP LOCKED
)
DELETE FROM ${published} p USING doomed d WHERE p.position = d.position`,
  });
}

/** The operations methods of the PostgreSQL dialect. */
export function postgresOperations(tables: ResolvedTables): OperationsMethods {
  const sql = postgresOperationStatements(tables);

  return {
    ...sqlQuarantineStatements(sql),

    async currentTime(exec) {
      const { rows } = await exec.query<{ now: unknown }>(sql.currentTime);
      return toDate(rows[0]?.now);
    },

    async readHistory(exec, query, limit) {
      const { text, params } = sql.readHistory(query, limit);
      const { rows } = await exec.query<EventRow & { published_at: unknown }>(text, params);
      return rows.map((row): HistoryEvent => Object.freeze({ ...toStoredEvent(row), publishedAt: toDate(row.published_at) }));
    },

    async listQuarantine(exec, options) {
      const { rows } = await exec.query<QuarantineRow>(sql.listQuarantine, [options.includeResolved, options.limit]);
      return rows.map(toQuarantineEntry);
    },

    async deleteHistoryBefore(exec, cutoff, limit) {
      const result = await exec.query(sql.deleteHistoryBefore, [cutoff.toISOString(), limit]);
      return result.rowCount;
    },
  };
}
