import { decideSequence, type InboxDialect, type ResolvedTables, type SqlExecutor } from '@outboxkit/core';
import { indexName, qualifiedTable } from './postgres-identifiers.js';
import { toNumber } from './postgres-rows.js';

/** Migration 2: the consumer inbox and the ordering guard's per-aggregate sequences. */
export function postgresInboxDdl(tables: ResolvedTables): string[] {
  const inbox = qualifiedTable(tables, 'inbox');
  const sequences = qualifiedTable(tables, 'inboxSequences');
  return [
    `CREATE TABLE IF NOT EXISTS ${inbox} (
  consumer varchar(255) NOT NULL,
  message_id varchar(255) NOT NULL,
  processed_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, message_id)
)`,
    // Serves retention: the oldest rows first, without scanning the primary key.
    `CREATE INDEX IF NOT EXISTS ${indexName(tables, 'inbox', 'processed_at_idx')} ON ${inbox} (processed_at)`,
    `CREATE TABLE IF NOT EXISTS ${sequences} (
  consumer varchar(255) NOT NULL,
  aggregate_type varchar(255) NOT NULL,
  aggregate_id varchar(255) NOT NULL,
  last_sequence bigint NOT NULL,
  updated_at timestamptz(3) NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, aggregate_type, aggregate_id)
)`,
  ];
}

/** The inbox statements, built once from the validated, quoted table names. */
function postgresInboxStatements(tables: ResolvedTables) {
  const inbox = qualifiedTable(tables, 'inbox');
  const sequences = qualifiedTable(tables, 'inboxSequences');
  return Object.freeze({
    /** $1 consumer, $2 message id. A concurrent insert of the same key makes this wait for that transaction. */
    insert: `INSERT INTO ${inbox} (consumer, message_id) VALUES ($1, $2) ON CONFLICT (consumer, message_id) DO NOTHING`,
    /** $1 consumer, $2 ids varchar[]. */
    contains: `SELECT message_id FROM ${inbox} WHERE consumer = $1 AND message_id = ANY($2::varchar[])`,
    /**
     * $1 cutoff, $2 limit. SKIP LOCKED: a row a consumer is inserting right now (same key being
     * redelivered) is never waited on; it is young anyway.
     */
    deleteBefore: `DELETE FROM ${inbox} AS i USING (
  SELECT consumer, message_id FROM ${inbox} WHERE processed_at < $1::timestamptz ORDER BY processed_at LIMIT $2 FOR UPDATE SKIP LOCKED
) AS old
WHERE i.consumer = old.consumer AND i.message_id = old.message_id`,
    /**
     * $1 consumer, $2 aggregate type, $3 aggregate id. Creates the row at 0 or, when it exists,
     * locks it with a no-op update; either way it returns the committed last sequence and holds
     * the row lock until the end of the transaction, so two events of one aggregate are decided
     * one after the other.
     */
    lockSequence: `INSERT INTO ${sequences} AS s (consumer, aggregate_type, aggregate_id, last_sequence) VALUES ($1, $2, $3, 0)
ON CONFLICT (consumer, aggregate_type, aggregate_id) DO UPDATE SET last_sequence = s.last_sequence
RETURNING last_sequence`,
    /** $1 consumer, $2 aggregate type, $3 aggregate id, $4 sequence. */
    advanceSequence: `UPDATE ${sequences} SET last_sequence = $4, updated_at = now() WHERE consumer = $1 AND aggregate_type = $2 AND aggregate_id = $3`,
  });
}

/** The PostgreSQL implementation of core's {@link InboxDialect}. */
export function postgresInbox(tables: ResolvedTables): InboxDialect {
  const sql = postgresInboxStatements(tables);
  return {
    async inboxInsert(tx: SqlExecutor, consumer: string, messageId: string) {
      const { rowCount } = await tx.query(sql.insert, [consumer, messageId]);
      return rowCount === 1;
    },

    async inboxContains(exec: SqlExecutor, consumer: string, ids: readonly string[]) {
      if (ids.length === 0) return [];
      const { rows } = await exec.query<{ message_id: string }>(sql.contains, [consumer, [...ids]]);
      return rows.map((row) => row.message_id);
    },

    async deleteInboxBefore(exec: SqlExecutor, cutoff: Date, limit: number) {
      if (limit <= 0) return 0;
      const { rowCount } = await exec.query(sql.deleteBefore, [cutoff.toISOString(), limit]);
      return rowCount;
    },

    async advanceInboxSequence(tx, consumer, aggregate, sequence, acceptFirstSeen) {
      const params = [consumer, aggregate.type, aggregate.id];
      const { rows } = await tx.query<{ last_sequence: unknown }>(sql.lockSequence, params);
      const decision = decideSequence(toNumber(rows[0]?.last_sequence ?? 0), sequence, acceptFirstSeen);
      if (decision === 'apply') await tx.query(sql.advanceSequence, [...params, sequence]);
      return decision;
    },
  };
}
