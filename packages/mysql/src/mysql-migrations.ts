import { OutboxError, SHARD_COUNT, sqlStringLiteral, type Migration, type ResolvedTables, type SqlDatabase, type SqlExecutor } from '@outboxkit/core';
import { mysqlInboxDdl } from './mysql-inbox.js';
import { qualifyTables, type QualifiedTables } from './mysql-identifiers.js';
import { toNumber } from './mysql-rows.js';
import { TABLE_OPTIONS } from './mysql-sql.js';

/**
 * Columns shared by `events`, `published` and `quarantine`. Times are DATETIME(3) holding UTC
 * (written with UTC_TIMESTAMP(3)); the defaults let other writers (an ORM entity) omit them.
 * `JSON` is a real JSON type on MySQL and LONGTEXT with a JSON_VALID check on MariaDB.
 */
const EVENT_COLUMNS_DDL = [
  'id CHAR(36) NOT NULL',
  'aggregate_type VARCHAR(255) NOT NULL',
  'aggregate_id VARCHAR(255) NOT NULL',
  'sequence BIGINT NOT NULL',
  'shard SMALLINT NOT NULL',
  'type VARCHAR(255) NOT NULL',
  'destination VARCHAR(255) NULL',
  'payload JSON NOT NULL',
  'headers JSON NOT NULL',
  'occurred_at DATETIME(3) NOT NULL',
  'created_at DATETIME(3) NOT NULL DEFAULT (UTC_TIMESTAMP(3))',
  'available_at DATETIME(3) NOT NULL DEFAULT (UTC_TIMESTAMP(3))',
  'attempts INT NOT NULL DEFAULT 0',
  'last_error TEXT NULL',
].join(',\n  ');

function createMigrationsTable(t: QualifiedTables): string {
  return `CREATE TABLE IF NOT EXISTS ${t.migrations} (
  version INT NOT NULL PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  applied_at DATETIME(3) NOT NULL DEFAULT (UTC_TIMESTAMP(3))
) ${TABLE_OPTIONS}`;
}

function version1(t: QualifiedTables): Migration {
  const shardRows = Array.from({ length: SHARD_COUNT }, (_, shard) => `(${shard})`).join(', ');
  return {
    version: 1,
    name: 'outbox tables',
    statements: [
      createMigrationsTable(t),
      `CREATE TABLE IF NOT EXISTS ${t.events} (
  position BIGINT NOT NULL AUTO_INCREMENT,
  ${EVENT_COLUMNS_DDL},
  PRIMARY KEY (position),
  UNIQUE KEY uq_events_id (id),
  KEY ix_events_aggregate (aggregate_type, aggregate_id, position)
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.sequences} (
  aggregate_type VARCHAR(255) NOT NULL,
  aggregate_id VARCHAR(255) NOT NULL,
  last_sequence BIGINT NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id)
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.published} (
  position BIGINT NOT NULL,
  ${EVENT_COLUMNS_DDL},
  published_at DATETIME(3) NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  PRIMARY KEY (position),
  KEY ix_published_id (id),
  KEY ix_published_at (published_at),
  KEY ix_published_aggregate (aggregate_type, aggregate_id, sequence)
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.quarantine} (
  position BIGINT NOT NULL,
  ${EVENT_COLUMNS_DDL},
  reason TEXT NOT NULL,
  status VARCHAR(20) NOT NULL,
  quarantined_at DATETIME(3) NOT NULL DEFAULT (UTC_TIMESTAMP(3)),
  resolved_at DATETIME(3) NULL,
  resolved_by VARCHAR(255) NULL,
  resolution_note TEXT NULL,
  PRIMARY KEY (id),
  KEY ix_quarantine_aggregate (aggregate_type, aggregate_id, status)
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.leases} (
  shard INT NOT NULL PRIMARY KEY,
  owner VARCHAR(255) NULL,
  epoch BIGINT NOT NULL DEFAULT 0,
  expires_at DATETIME(3) NULL
) ${TABLE_OPTIONS}`,
      `CREATE TABLE IF NOT EXISTS ${t.relays} (
  relay_id VARCHAR(255) NOT NULL PRIMARY KEY,
  expires_at DATETIME(3) NOT NULL,
  started_at DATETIME(3) NOT NULL DEFAULT (UTC_TIMESTAMP(3))
) ${TABLE_OPTIONS}`,
      // Constant rows, so IGNORE can only ever skip the duplicates of a re-run.
      `INSERT IGNORE INTO ${t.leases} (shard) VALUES ${shardRows}`,
    ],
  };
}

/**
 * Event expiry: a nullable column (existing events never expire) on the three event tables.
 * MySQL has no `ADD COLUMN IF NOT EXISTS` (MariaDB has), so each addition is prepared from a
 * check of information_schema: plain, parameter-free statements that change nothing when run
 * again, like every other migration statement (a session variable carries the text, so they must
 * run in order on one connection, as `migrate` and a DBA's script do).
 */
function version3(tables: ResolvedTables, t: QualifiedTables): Migration {
  const schema = tables.schema === null ? 'DATABASE()' : sqlStringLiteral(tables.schema);
  const addExpiry = (name: keyof ResolvedTables['names']): string[] => [
    `SET @outboxkit_ddl = IF(EXISTS(SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ${schema} ` +
      `AND TABLE_NAME = ${sqlStringLiteral(tables.names[name])} AND COLUMN_NAME = 'expires_at'), 'DO 0', ` +
      `${sqlStringLiteral(`ALTER TABLE ${t[name]} ADD COLUMN expires_at DATETIME(3) NULL`)})`,
    'PREPARE outboxkit_ddl FROM @outboxkit_ddl',
    'EXECUTE outboxkit_ddl',
    'DEALLOCATE PREPARE outboxkit_ddl',
  ];
  return { version: 3, name: 'event expiry', statements: [...addExpiry('events'), ...addExpiry('published'), ...addExpiry('quarantine')] };
}

/**
 * The versioned schema for these tables, oldest first. Every statement is idempotent and has no
 * parameters, so the list can be printed for a DBA and run by hand.
 */
export function mysqlMigrations(tables: ResolvedTables): readonly Migration[] {
  const t = qualifyTables(tables);
  return Object.freeze([version1(t), { version: 2, name: 'consumer inbox', statements: mysqlInboxDdl(t) }, version3(tables, t)]);
}

/** The idempotent, literal record of one migration, for `migrate --print` (see SchemaDialect.recordMigration). */
export function recordMysqlMigration(tables: ResolvedTables, migration: Migration): string {
  return `INSERT IGNORE INTO ${qualifyTables(tables).migrations} (version, name, applied_at) VALUES (${Number(migration.version)}, ${sqlStringLiteral(migration.name)}, UTC_TIMESTAMP(3))`;
}

/** How long `migrate` waits for another process's migration before giving up. */
const LOCK_TIMEOUT_SECONDS = 30;

/**
 * Applies the migrations not yet recorded, returning their versions (empty on a re-run).
 *
 * DDL commits implicitly on MySQL, so a transaction cannot make concurrent migrations safe: a
 * named lock (`GET_LOCK`, held by one session) does. `db.transaction` is used only because it is
 * the way `SqlDatabase` pins one connection for the lock's whole lifetime. The lock name is a hash
 * of the database and migrations table, so migrations of different schemas never wait for each
 * other, and it stays within MySQL's 64-character limit for lock names.
 *
 * A crash between statements leaves a version unrecorded; its statements are idempotent, so the
 * next `migrate` completes it.
 */
export async function migrateMysql(db: SqlDatabase, tables: ResolvedTables, migrations: readonly Migration[]): Promise<number[]> {
  const t = qualifyTables(tables);
  const lockName = "CONCAT('outboxkit_migrate:', SHA1(CONCAT(COALESCE(?, DATABASE(), ''), '.', ?)))";
  const lockParams = [tables.schema, tables.names.migrations];
  return db.transaction(async (session) => {
    const { rows } = await session.query<{ acquired: unknown }>(`SELECT GET_LOCK(${lockName}, ?) AS acquired`, [...lockParams, LOCK_TIMEOUT_SECONDS]);
    if (toNumber(rows[0]?.acquired ?? 0) !== 1) {
      throw new OutboxError(
        'OUTBOX_MIGRATION_LOCKED',
        `another session has held the outboxkit migration lock for ${LOCK_TIMEOUT_SECONDS}s; ` +
          "wait for that migration to finish and run migrate again (SELECT IS_USED_LOCK(...) shows the holder's connection id)",
      );
    }
    try {
      return await applyMissing(session, t, migrations);
    } finally {
      await session.query(`SELECT RELEASE_LOCK(${lockName})`, lockParams);
    }
  });
}

async function applyMissing(session: SqlExecutor, t: QualifiedTables, migrations: readonly Migration[]): Promise<number[]> {
  await session.query(createMigrationsTable(t));
  // Read after taking the lock: a concurrent migrate that finished first is seen here.
  const { rows } = await session.query<{ version: unknown }>(`SELECT version FROM ${t.migrations}`);
  const applied = new Set(rows.map((row) => toNumber(row.version)));
  const done: number[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (applied.has(migration.version)) continue;
    for (const statement of migration.statements) await session.query(statement);
    await session.query(`INSERT INTO ${t.migrations} (version, name, applied_at) VALUES (?, ?, UTC_TIMESTAMP(3))`, [migration.version, migration.name]);
    // Committed before the lock is released, so the next holder sees this version as applied.
    await session.query('COMMIT');
    done.push(migration.version);
  }
  return done;
}
