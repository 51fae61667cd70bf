import { OutboxConfigError, OutboxError, type ResolvedTables, type SqlExecutor } from '@outboxkit/core';
import { quoteIdentifier } from '../mysql-identifiers.js';
import { toNumber } from '../mysql-rows.js';
import { formatPosition, type BinlogPosition } from './binlog-position.js';
import { binlogFiles } from './binlog-server.js';

/**
 * The binlog source's checkpoints: one row per source (name), the file and offset just past the
 * last transaction whose events were all settled. Written in the reader's fenced settle
 * transaction, so it commits with the marks it covers. Created by `outbox-relay setup-logical`
 * (not by `migrate`: only a database that uses the binlog source has it), in the events table's
 * database.
 */
export const CHECKPOINT_TABLE = 'outbox_binlog_checkpoints';

// The slot-name rule of the PostgreSQL source, so `--slot` means the same on both.
const CHECKPOINT_NAME = /^[a-z0-9_]{1,64}$/;

/** `<database>_<events table>_outbox` (lowercased) unless `--slot` names it. */
export function resolveCheckpointName(tables: ResolvedTables, database: string, name?: string): string {
  const chosen = name ?? `${tables.schema ?? database}_${tables.names.events}_outbox`.toLowerCase();
  if (CHECKPOINT_NAME.test(chosen)) return chosen;
  throw new OutboxConfigError(
    '--slot',
    `${JSON.stringify(chosen)} is not a valid binlog checkpoint name: use 1-64 lowercase letters, digits or _ (pass --slot <name>)`,
  );
}

export function qualifiedCheckpointTable(tables: ResolvedTables): string {
  return `${tables.schema === null ? '' : `${quoteIdentifier(tables.schema)}.`}${quoteIdentifier(CHECKPOINT_TABLE)}`;
}

/** Creates the table and, when the name has no row yet, starts it at the server's current position. True when the row was created. */
export async function createCheckpoint(exec: SqlExecutor, tables: ResolvedTables, name: string): Promise<boolean> {
  const table = qualifiedCheckpointTable(tables);
  await exec.query(`CREATE TABLE IF NOT EXISTS ${table} (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  binlog_file VARCHAR(255) NOT NULL,
  binlog_position BIGINT NOT NULL,
  updated_at DATETIME(3) NOT NULL DEFAULT (UTC_TIMESTAMP(3))
) ENGINE=InnoDB`);
  const { current } = await binlogFiles(exec);
  const inserted = await exec.query(`INSERT IGNORE INTO ${table} (name, binlog_file, binlog_position) VALUES (?, ?, ?)`, [
    name,
    current.file,
    current.position,
  ]);
  return inserted.rowCount > 0;
}

/** The checkpoint, or null when setup-logical has not created it. */
export async function readCheckpoint(exec: SqlExecutor, tables: ResolvedTables, name: string): Promise<BinlogPosition | null> {
  try {
    const { rows } = await exec.query<{ binlog_file: string; binlog_position: unknown }>(
      `SELECT binlog_file, binlog_position FROM ${qualifiedCheckpointTable(tables)} WHERE name = ?`,
      [name],
    );
    const row = rows[0];
    return row === undefined ? null : { file: row.binlog_file, position: toNumber(row.binlog_position) };
  } catch (error) {
    // ER_NO_SUCH_TABLE: setup-logical never ran on this database.
    if ((error as { errno?: unknown }).errno === 1146) return null;
    throw error;
  }
}

export async function saveCheckpoint(tx: SqlExecutor, tables: ResolvedTables, name: string, at: BinlogPosition): Promise<void> {
  await tx.query(`UPDATE ${qualifiedCheckpointTable(tables)} SET binlog_file = ?, binlog_position = ?, updated_at = UTC_TIMESTAMP(3) WHERE name = ?`, [
    at.file,
    at.position,
    name,
  ]);
}

/**
 * The checkpoint the reader streams from, refused when it is missing or its file was purged
 * (`expire_logs_days`, `PURGE BINARY LOGS`): the events written in the purged files were never
 * read, so streaming on would skip them silently.
 */
export async function requireReadableCheckpoint(exec: SqlExecutor, tables: ResolvedTables, name: string): Promise<BinlogPosition> {
  const checkpoint = await readCheckpoint(exec, tables, name);
  if (checkpoint === null) {
    throw new OutboxError(
      'OUTBOX_LOGICAL_SETUP',
      `binlog checkpoint ${name} does not exist; create it with \`outbox-relay setup-logical\` (idempotent), then start again`,
    );
  }
  const { files } = await binlogFiles(exec);
  if (!files.some((entry) => entry.file === checkpoint.file)) {
    throw new OutboxError(
      'OUTBOX_BINLOG_PURGED',
      `binlog checkpoint ${name} is at ${formatPosition(checkpoint)}, but the server no longer has ${checkpoint.file} (oldest: ${files[0]?.file ?? 'none'}): ` +
        'binary logs were purged past the checkpoint, so events in them were never read. The rows still in the events table are exactly the unpublished ones: ' +
        `drain them with \`outbox-relay run --source poll --once\`, then \`DELETE FROM ${CHECKPOINT_TABLE} WHERE name = '${name}'\` and run \`outbox-relay setup-logical\` ` +
        'to start the checkpoint at the current position; keep binlogs longer than the reader can be down (expire_logs_days / binlog_expire_logs_seconds)',
    );
  }
  return checkpoint;
}
