import {
  ChangeLogReader,
  OutboxConfigError,
  type ChangeLog,
  type LeaseStore,
  type LogicalSlotStatus,
  type LogicalSourceConnector,
  type LogicalSourceNames,
  type RelayDatabaseOptions,
  type RelayStore,
  type ResolvedTables,
  type SqlDatabase,
  type SqlExecutor,
} from '@outboxkit/core';
import { createMysqlDialect } from '../mysql-dialect.js';
import { createMysqlPool, mysqlDatabase, parseMysqlUrl } from '../mysql-driver.js';
import { qualifyTables } from '../mysql-identifiers.js';
import { toNumber } from '../mysql-rows.js';
import { NOW } from '../mysql-sql.js';
import { createCheckpoint, readCheckpoint, requireReadableCheckpoint, resolveCheckpointName, saveCheckpoint } from './binlog-checkpoint.js';
import { formatPosition, isAfter, parsePosition, positionOffset } from './binlog-position.js';
import { binlogFiles, bytesBehind, requireRowBinlog } from './binlog-server.js';
import { BinlogStream, loadZongJi } from './binlog-stream.js';

export { CHECKPOINT_TABLE, createCheckpoint, readCheckpoint, requireReadableCheckpoint, resolveCheckpointName } from './binlog-checkpoint.js';
export { requireRowBinlog } from './binlog-server.js';
export { eventOf as binlogEventOf, loadZongJi } from './binlog-stream.js';

/** One short-lived connection for the setup and status commands. */
async function withConnection<T>(url: string, work: (db: SqlDatabase) => Promise<T>): Promise<T> {
  const db = mysqlDatabase(createMysqlPool(url, { connectionLimit: 1 }));
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/** The database the events table lives in: its schema option, else the URL's database. */
function databaseOf(url: string, tables: ResolvedTables): string {
  const database = tables.schema ?? parseMysqlUrl(url).database;
  if (database === undefined)
    throw new OutboxConfigError('--database-url', 'names no database; the binlog source needs one: mysql://user@host:3306/<database> (or pass --schema)');
  return database;
}

function checkpointName(url: string, tables: ResolvedTables, names: LogicalSourceNames): string {
  if (names.publication !== undefined) {
    throw new OutboxConfigError(
      '--publication',
      'names a PostgreSQL publication; the MySQL/MariaDB binlog source has none (leave it out; --slot names its checkpoint)',
    );
  }
  return resolveCheckpointName(tables, databaseOf(url, tables), names.slot);
}

/** The binlog source's status, for the slot metrics and `outbox-relay status`; null before setup-logical. */
export async function readBinlogStatus(exec: SqlExecutor, tables: ResolvedTables, name: string): Promise<LogicalSlotStatus | null> {
  const checkpoint = await readCheckpoint(exec, tables, name);
  if (checkpoint === null) return null;
  const { files } = await binlogFiles(exec);
  const { lag, retained } = bytesBehind(files, checkpoint);
  const dumps = await exec.query<{ n: unknown }>("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'");
  // As on PostgreSQL: the wait of the oldest event still in the table (it leaves once settled,
  // before the checkpoint moves past it), 0 when idle however much else the binlog carries.
  const oldest = await exec.query<{ s: unknown }>(
    `SELECT GREATEST(0, TIMESTAMPDIFF(MICROSECOND, e.created_at, ${NOW}) / 1e6) AS s FROM ${qualifyTables(tables).events} e ORDER BY e.position LIMIT 1`,
  );
  return Object.freeze({
    source: 'binlog',
    slot: name,
    active: toNumber(dumps.rows[0]?.n ?? 0) > 0,
    lagBytes: lag,
    lagSeconds: Number(oldest.rows[0]?.s ?? 0),
    retainedWalBytes: retained,
    confirmedLsn: formatPosition(checkpoint),
    confirmedOffset: positionOffset(checkpoint),
  });
}

/**
 * The replica id of a checkpoint's binlog connection, the same for every reader of it: when a
 * standby takes over, its connection makes the server end the old reader's (MariaDB ends a dump
 * thread whose replica id connects again), as the PostgreSQL source ends the old walsender.
 */
export function binlogServerId(name: string, serverOwnId: number): number {
  let hash = 0x811c9dc5;
  for (const char of name) hash = Math.imul(hash ^ char.charCodeAt(0), 0x01000193) >>> 0;
  const id = 0x4000_0000 + (hash % 0x3fff_ffff);
  return id === serverOwnId ? id + 1 : id;
}

export interface MysqlChangeLogOptions {
  readonly url: string;
  readonly dialect: RelayStore & LeaseStore;
  readonly database: SqlDatabase;
  readonly name: string;
  /** How often at most a quiet outbox's checkpoint follows other tables' commits. @default 30000 */
  readonly idleCheckpointMs?: number;
}

/** MariaDB's row binlog as core's change log, its checkpoint a row written in the fenced settle transaction. */
export function mysqlChangeLog(options: MysqlChangeLogOptions): ChangeLog {
  const { url, database: db, name } = options;
  const tables = options.dialect.tables;
  const schema = databaseOf(url, tables);
  let ZongJi: Awaited<ReturnType<typeof loadZongJi>> | null = null;
  let serverId = 0;
  return {
    describe: { checkpoint: name },
    ...(options.idleCheckpointMs !== undefined ? { idleCheckpointMs: options.idleCheckpointMs } : {}),
    async check() {
      ZongJi = await loadZongJi();
      await requireRowBinlog(db);
      await requireReadableCheckpoint(db, tables, name);
      const { rows } = await db.query<{ id: unknown }>('SELECT @@server_id AS id');
      serverId = binlogServerId(name, toNumber(rows[0]?.id ?? 0));
    },
    status: () => readBinlogStatus(db, tables, name),
    async resume() {
      return formatPosition(await requireReadableCheckpoint(db, tables, name));
    },
    open(from, sink) {
      if (ZongJi === null) throw new Error('the binlog change log was opened before check()');
      const { host, port, user, password } = parseMysqlUrl(url);
      return new BinlogStream({
        ZongJi,
        connection: { host, port, ...(user !== undefined ? { user } : {}), ...(password !== undefined ? { password } : {}) },
        serverId,
        from: parsePosition(from),
        schema,
        table: tables.names.events,
        sink,
      });
    },
    isAfter: (a, b) => isAfter(parsePosition(a), parsePosition(b)),
    saveCheckpoint: (tx, position) => saveCheckpoint(tx, tables, name, parsePosition(position)),
  };
}

/** MySQL/MariaDB's log-based source: the row binlog, read from a checkpoint row kept in the database. */
export const mysqlBinlogSource: LogicalSourceConnector = {
  setup(url, options) {
    const tables = createMysqlDialect({ tables: options.tables }).tables;
    const name = checkpointName(url, tables, options);
    return withConnection(url, async (db) => {
      await requireRowBinlog(db);
      const created = await createCheckpoint(db, tables, name);
      const at = await readCheckpoint(db, tables, name);
      return Object.freeze({
        publication: '',
        slot: name,
        publicationCreated: false,
        slotCreated: created,
        lines: [`binlog checkpoint ${name}: ${created ? 'created' : 'exists'} at ${at === null ? 'unknown' : formatPosition(at)}`],
      });
    });
  },
  async slotStatus(url, options: RelayDatabaseOptions & LogicalSourceNames) {
    const tables = createMysqlDialect({ tables: options.tables }).tables;
    // `status` on a URL without a database has no outbox of its own to report a checkpoint for.
    if (tables.schema === null && parseMysqlUrl(url).database === undefined) return null;
    const name = checkpointName(url, tables, options);
    return withConnection(url, (db) => readBinlogStatus(db, tables, name));
  },
  reader(url, target, options) {
    const name = checkpointName(url, target.dialect.tables, options);
    return new ChangeLogReader({
      ...options,
      dialect: target.dialect,
      database: target.database,
      log: mysqlChangeLog({ url, dialect: target.dialect, database: target.database, name }),
    });
  },
};
