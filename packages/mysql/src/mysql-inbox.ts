import { decideSequence, type InboxDialect, type ResolvedTables, type SqlExecutor } from '@outboxkit/core';
import { toNumber } from './mysql-rows.js';
import { qualifyTables, type QualifiedTables } from './mysql-identifiers.js';
import { hasErrno, NOW, TABLE_OPTIONS, toUtcDateTime } from './mysql-sql.js';

const ER_DUP_ENTRY = 1062;

/** Migration 2: the consumer inbox and the ordering guard's per-aggregate sequences. */
export function mysqlInboxDdl(t: QualifiedTables): string[] {
  return [
    // Key widths: 2 x 255 utf8mb4 characters = 2040 bytes, within InnoDB's 3072-byte key limit.
    `CREATE TABLE IF NOT EXISTS ${t.inbox} (
  consumer VARCHAR(255) NOT NULL,
  message_id VARCHAR(255) NOT NULL,
  processed_at DATETIME(3) NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (consumer, message_id),
  KEY ix_inbox_processed_at (processed_at)
) ${TABLE_OPTIONS}`,
    // 3 x 255 x 4 = 3060 bytes: just inside the limit, so names stay 255 characters like elsewhere.
    `CREATE TABLE IF NOT EXISTS ${t.inboxSequences} (
  consumer VARCHAR(255) NOT NULL,
  aggregate_type VARCHAR(255) NOT NULL,
  aggregate_id VARCHAR(255) NOT NULL,
  last_sequence BIGINT NOT NULL,
  updated_at DATETIME(3) NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (consumer, aggregate_type, aggregate_id)
) ${TABLE_OPTIONS}`,
  ];
}

// Key lists are one bound JSON array joined first, so every locking access is a primary-key
// lookup (see ID_LIST in mysql-sql.ts for why IN lists are avoided on MariaDB).
const KEY_LIST =
  "JSON_TABLE(?, '$[*]' COLUMNS (consumer VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$[0]', " +
  "message_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$[1]')) AS k";
const MESSAGE_ID_LIST = "JSON_TABLE(?, '$[*]' COLUMNS (message_id VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin PATH '$')) AS k";

function mysqlInboxStatements(tables: ResolvedTables) {
  const t = qualifyTables(tables);
  const sameAggregate = 'consumer = ? AND aggregate_type = ? AND aggregate_id = ?';
  return Object.freeze({
    /** Plain INSERT: a duplicate fails with ER_DUP_ENTRY, which rolls back that statement only. */
    insert: `INSERT INTO ${t.inbox} (consumer, message_id, processed_at) VALUES (?, ?, ${NOW})`,
    contains: `SELECT i.message_id FROM ${MESSAGE_ID_LIST} STRAIGHT_JOIN ${t.inbox} AS i ON i.consumer = ? AND i.message_id = k.message_id`,
    /** A consistent (non-locking) read: picking the batch never waits for a consumer's open insert. */
    oldest: `SELECT consumer, message_id FROM ${t.inbox} WHERE processed_at < ? ORDER BY processed_at LIMIT ?`,
    deleteKeys: `DELETE i FROM ${KEY_LIST} STRAIGHT_JOIN ${t.inbox} AS i ON i.consumer = k.consumer AND i.message_id = k.message_id`,
    /** Creates the row at 0, or locks the existing one (the no-op update takes its row lock). */
    ensureSequence:
      `INSERT INTO ${t.inboxSequences} (consumer, aggregate_type, aggregate_id, last_sequence, updated_at) VALUES (?, ?, ?, 0, ${NOW}) ` +
      'ON DUPLICATE KEY UPDATE last_sequence = last_sequence',
    lockSequence: `SELECT last_sequence FROM ${t.inboxSequences} WHERE ${sameAggregate} FOR UPDATE`,
    advanceSequence: `UPDATE ${t.inboxSequences} SET last_sequence = ?, updated_at = ${NOW} WHERE ${sameAggregate}`,
  });
}

/** The MySQL / MariaDB implementation of core's {@link InboxDialect}. */
export function mysqlInbox(tables: ResolvedTables): InboxDialect {
  const sql = mysqlInboxStatements(tables);
  return {
    async inboxInsert(tx: SqlExecutor, consumer: string, messageId: string) {
      try {
        await tx.query(sql.insert, [consumer, messageId]);
        return true;
      } catch (error) {
        // Not INSERT IGNORE: it would also turn a too-long id into a silently truncated one,
        // which could then collide with another message's id.
        if (hasErrno(error, ER_DUP_ENTRY, 'ER_DUP_ENTRY')) return false;
        throw error;
      }
    },

    async inboxContains(exec: SqlExecutor, consumer: string, ids: readonly string[]) {
      if (ids.length === 0) return [];
      const { rows } = await exec.query<{ message_id: string }>(sql.contains, [JSON.stringify(ids), consumer]);
      return rows.map((row) => row.message_id);
    },

    async deleteInboxBefore(exec: SqlExecutor, cutoff: Date, limit: number) {
      if (limit <= 0) return 0;
      const { rows } = await exec.query<{ consumer: string; message_id: string }>(sql.oldest, [toUtcDateTime(cutoff), Math.floor(limit)]);
      if (rows.length === 0) return 0;
      const keys = rows.map((row) => [row.consumer, row.message_id]);
      const { rowCount } = await exec.query(sql.deleteKeys, [JSON.stringify(keys)]);
      return rowCount;
    },

    async advanceInboxSequence(tx, consumer, aggregate, sequence, acceptFirstSeen) {
      const key = [consumer, aggregate.type, aggregate.id];
      await tx.query(sql.ensureSequence, key);
      const { rows } = await tx.query<{ last_sequence: unknown }>(sql.lockSequence, key);
      const decision = decideSequence(toNumber(rows[0]?.last_sequence ?? 0), sequence, acceptFirstSeen);
      if (decision === 'apply') await tx.query(sql.advanceSequence, [sequence, ...key]);
      return decision;
    },
  };
}
