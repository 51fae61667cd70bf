import { OutboxError, type SqlExecutor } from '@outboxkit/core';
import { toNumber } from '../mysql-rows.js';
import { fileNumber, type BinlogPosition } from './binlog-position.js';

/** Server settings the binlog source needs, each with what to do when it is wrong. */
const REQUIRED_SETTINGS: readonly { readonly name: string; readonly value: string; readonly fix: string }[] = [
  {
    name: 'log_bin',
    value: 'ON',
    fix: 'start mariadbd with --log-bin --server-id=<n> --binlog-format=ROW --binlog-row-image=FULL (or log_bin, server_id, binlog_format and binlog_row_image in my.cnf) and restart it',
  },
  { name: 'binlog_format', value: 'ROW', fix: "SET GLOBAL binlog_format = 'ROW', and binlog_format = ROW in my.cnf so it survives a restart" },
  { name: 'binlog_row_image', value: 'FULL', fix: "SET GLOBAL binlog_row_image = 'FULL', and binlog_row_image = FULL in my.cnf so it survives a restart" },
];

/**
 * Fails with the setting and its fix when the server does not write a full row-format binary
 * log, or the user cannot read it: REPLICATION SLAVE streams the binlog, REPLICATION CLIENT
 * (BINLOG MONITOR on MariaDB) lists the files and the current position.
 */
export async function requireRowBinlog(exec: SqlExecutor): Promise<void> {
  const { rows } = await exec.query<{ Variable_name: string; Value: string }>(
    `SHOW GLOBAL VARIABLES WHERE Variable_name IN (${REQUIRED_SETTINGS.map(() => '?').join(', ')})`,
    REQUIRED_SETTINGS.map((setting) => setting.name),
  );
  const values = new Map(rows.map((row) => [row.Variable_name.toLowerCase(), String(row.Value).toUpperCase()]));
  for (const setting of REQUIRED_SETTINGS) {
    const value = values.get(setting.name) ?? 'unknown';
    if (value !== setting.value) {
      throw new OutboxError(
        'OUTBOX_LOGICAL_UNAVAILABLE',
        `the server runs with ${setting.name}=${value}; the binlog source needs ${setting.name}=${setting.value}: ${setting.fix}; or use --source poll`,
      );
    }
  }
  await requireReplicationGrants(exec);
}

async function requireReplicationGrants(exec: SqlExecutor): Promise<void> {
  const { rows } = await exec.query<Record<string, string>>('SHOW GRANTS FOR CURRENT_USER()');
  const global = rows.map((row) => String(Object.values(row)[0] ?? '')).filter((grant) => /\bON \*\.\* TO\b/i.test(grant));
  const has = (pattern: RegExp): boolean => global.some((grant) => /\bALL PRIVILEGES\b/i.test(grant) || pattern.test(grant));
  const missing = [
    ...(has(/\bREPLICATION (SLAVE|REPLICA)\b(?! ADMIN)/i) ? [] : ['REPLICATION SLAVE']),
    ...(has(/\b(REPLICATION CLIENT|BINLOG MONITOR)\b/i) ? [] : ['REPLICATION CLIENT']),
  ];
  if (missing.length === 0) return;
  throw new OutboxError(
    'OUTBOX_LOGICAL_UNAVAILABLE',
    `the database user lacks ${missing.join(' and ')}, which the binlog source needs to read the binary log: GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO <the relay's user>; or use --source poll`,
  );
}

/** The server's binlog files (oldest first) with their sizes, the last one cut at the current write position. */
export async function binlogFiles(exec: SqlExecutor): Promise<{ files: { file: string; size: number }[]; current: BinlogPosition }> {
  const status = await exec.query<{ File: string; Position: unknown }>('SHOW MASTER STATUS');
  const head = status.rows[0];
  if (head === undefined)
    throw new OutboxError('OUTBOX_LOGICAL_UNAVAILABLE', 'SHOW MASTER STATUS returned nothing: the server writes no binary log; start it with --log-bin');
  const current = { file: head.File, position: toNumber(head.Position) };
  const listed = await exec.query<{ Log_name: string; File_size: unknown }>('SHOW BINARY LOGS');
  const files = listed.rows
    .map((row) => ({ file: row.Log_name, size: row.Log_name === current.file ? current.position : toNumber(row.File_size) }))
    .sort((a, b) => fileNumber(a.file) - fileNumber(b.file));
  return { files, current };
}

/** Binlog bytes from `from` to the server's current position, and from the start of `from`'s file (what the reader still needs on disk). */
export function bytesBehind(files: readonly { file: string; size: number }[], from: BinlogPosition): { lag: number; retained: number } {
  const needed = files.filter((entry) => fileNumber(entry.file) >= fileNumber(from.file));
  const retained = needed.reduce((sum, entry) => sum + entry.size, 0);
  return { lag: Math.max(0, retained - from.position), retained };
}
