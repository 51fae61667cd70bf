import { decideSequence, type InboxDialect, type ResolvedTables, type SqlExecutor } from '@outboxkit/core';
import { quoteIdentifier } from './sqlite-identifiers.js';
import { NOW_MS } from './sqlite-sql.js';

/**
 * Migration 2: the consumer inbox and the ordering guard's per-aggregate sequences.
 * WITHOUT ROWID: both tables are only ever reached through their primary key, which then is
 * the table itself (one B-tree instead of two).
 */
export function sqliteInboxDdl(tables: ResolvedTables): string[] {
  const inbox = quoteIdentifier(tables.names.inbox);
  const sequences = quoteIdentifier(tables.names.inboxSequences);
  return [
    `CREATE TABLE IF NOT EXISTS ${inbox} (
  consumer TEXT NOT NULL,
  message_id TEXT NOT NULL,
  processed_at INTEGER NOT NULL DEFAULT (${NOW_MS}),
  PRIMARY KEY (consumer, message_id)
) STRICT, WITHOUT ROWID`,
    `CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${tables.names.inbox}_processed_at`)} ON ${inbox} (processed_at)`,
    `CREATE TABLE IF NOT EXISTS ${sequences} (
  consumer TEXT NOT NULL,
  aggregate_type TEXT NOT NULL,
  aggregate_id TEXT NOT NULL,
  last_sequence INTEGER NOT NULL,
  updated_at INTEGER NOT NULL DEFAULT (${NOW_MS}),
  PRIMARY KEY (consumer, aggregate_type, aggregate_id)
) STRICT, WITHOUT ROWID`,
  ];
}

function sqliteInboxStatements(tables: ResolvedTables) {
  const inbox = quoteIdentifier(tables.names.inbox);
  const sequences = quoteIdentifier(tables.names.inboxSequences);
  const sameAggregate = 'consumer = ? AND aggregate_type = ? AND aggregate_id = ?';
  return Object.freeze({
    insert: `INSERT INTO ${inbox} (consumer, message_id, processed_at) VALUES (?, ?, ${NOW_MS}) ON CONFLICT (consumer, message_id) DO NOTHING`,
    contains: `SELECT message_id FROM ${inbox} WHERE consumer = ? AND message_id IN (SELECT value FROM json_each(?))`,
    deleteBefore: `DELETE FROM ${inbox} WHERE (consumer, message_id) IN (
  SELECT consumer, message_id FROM ${inbox} WHERE processed_at < ? ORDER BY processed_at LIMIT ?
)`,
    // One writer at a time for the whole database: the transaction's write lock already
    // serialises two events of one aggregate, so no row lock is needed.
    ensureSequence: `INSERT INTO ${sequences} (consumer, aggregate_type, aggregate_id, last_sequence) VALUES (?, ?, ?, 0) ON CONFLICT DO NOTHING`,
    readSequence: `SELECT last_sequence FROM ${sequences} WHERE ${sameAggregate}`,
    advanceSequence: `UPDATE ${sequences} SET last_sequence = ?, updated_at = ${NOW_MS} WHERE ${sameAggregate}`,
  });
}

/** The SQLite implementation of core's {@link InboxDialect}. */
export function sqliteInbox(tables: ResolvedTables): InboxDialect {
  const sql = sqliteInboxStatements(tables);
  return {
    async inboxInsert(tx: SqlExecutor, consumer: string, messageId: string) {
      const { rowCount } = await tx.query(sql.insert, [consumer, messageId]);
      return rowCount === 1;
    },

    async inboxContains(exec: SqlExecutor, consumer: string, ids: readonly string[]) {
      if (ids.length === 0) return [];
      const { rows } = await exec.query<{ message_id: string }>(sql.contains, [consumer, JSON.stringify(ids)]);
      return rows.map((row) => row.message_id);
    },

    async deleteInboxBefore(exec: SqlExecutor, cutoff: Date, limit: number) {
      if (limit <= 0) return 0;
      const { rowCount } = await exec.query(sql.deleteBefore, [cutoff.getTime(), Math.floor(limit)]);
      return rowCount;
    },

    async advanceInboxSequence(tx, consumer, aggregate, sequence, acceptFirstSeen) {
      const key = [consumer, aggregate.type, aggregate.id];
      await tx.query(sql.ensureSequence, key);
      const { rows } = await tx.query<{ last_sequence: number }>(sql.readSequence, key);
      const decision = decideSequence(Number(rows[0]?.last_sequence ?? 0), sequence, acceptFirstSeen);
      if (decision === 'apply') await tx.query(sql.advanceSequence, [sequence, ...key]);
      return decision;
    },
  };
}
