import { sqlStringLiteral, type Migration, type ResolvedTables, type SqlDatabase, type SqlExecutor } from '@outboxkit/core';
import { sqliteInboxDdl } from './sqlite-inbox.js';
import { quoteIdentifier } from './sqlite-identifiers.js';
import { NOW_MS } from './sqlite-sql.js';

/**
 * Versioned DDL. Tables are STRICT, so a value of the wrong type (a Date object, a float epoch)
 * is an error at insert time instead of a silent coercion. Every statement is idempotent.
 */
export function sqliteMigrations(tables: ResolvedTables): readonly Migration[] {
  const name = tables.names;
  const q = quoteIdentifier;
  const eventColumns = (position: string) => `
  position INTEGER ${position},
  id TEXT NOT NULL,
  aggregate_type TEXT NOT NULL,
  aggregate_id TEXT NOT NULL,
  sequence INTEGER NOT NULL,
  shard INTEGER NOT NULL CHECK (shard BETWEEN 0 AND 63),
  type TEXT NOT NULL,
  destination TEXT,
  payload TEXT NOT NULL,
  headers TEXT NOT NULL DEFAULT '{}',
  occurred_at INTEGER NOT NULL,
  created_at INTEGER NOT NULL DEFAULT (${NOW_MS}),
  available_at INTEGER NOT NULL DEFAULT (${NOW_MS}),
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT`;

  return Object.freeze([
    Object.freeze({
      version: 1,
      name: 'outbox tables',
      statements: Object.freeze([
        migrationsTableDdl(tables),
        // AUTOINCREMENT: positions are never reused after the pending table empties, so a
        // position copied to `published` (its primary key there) can never collide.
        `CREATE TABLE IF NOT EXISTS ${q(name.events)} (${eventColumns('PRIMARY KEY AUTOINCREMENT')}\n) STRICT`,
        `CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${name.events}_id`)} ON ${q(name.events)} (id)`,
        `CREATE INDEX IF NOT EXISTS ${q(`${name.events}_aggregate`)} ON ${q(name.events)} (aggregate_type, aggregate_id, position)`,
        `CREATE TABLE IF NOT EXISTS ${q(name.sequences)} (
  aggregate_type TEXT NOT NULL,
  aggregate_id TEXT NOT NULL,
  last_sequence INTEGER NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id)
) STRICT`,
        `CREATE TABLE IF NOT EXISTS ${q(name.published)} (${eventColumns('PRIMARY KEY')},
  published_at INTEGER NOT NULL
) STRICT`,
        `CREATE INDEX IF NOT EXISTS ${q(`${name.published}_id`)} ON ${q(name.published)} (id)`,
        `CREATE INDEX IF NOT EXISTS ${q(`${name.published}_published_at`)} ON ${q(name.published)} (published_at)`,
        `CREATE INDEX IF NOT EXISTS ${q(`${name.published}_aggregate`)} ON ${q(name.published)} (aggregate_type, aggregate_id, sequence)`,
        `CREATE TABLE IF NOT EXISTS ${q(name.quarantine)} (${eventColumns('NOT NULL')},
  reason TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('parked', 'dead-lettered', 'retried', 'skipped')),
  quarantined_at INTEGER NOT NULL,
  resolved_at INTEGER,
  resolved_by TEXT,
  resolution_note TEXT,
  PRIMARY KEY (id)
) STRICT`,
        `CREATE INDEX IF NOT EXISTS ${q(`${name.quarantine}_aggregate`)} ON ${q(name.quarantine)} (aggregate_type, aggregate_id, status)`,
        `CREATE TABLE IF NOT EXISTS ${q(name.leases)} (
  shard INTEGER PRIMARY KEY,
  owner TEXT,
  epoch INTEGER NOT NULL DEFAULT 0,
  expires_at INTEGER
) STRICT`,
        `WITH RECURSIVE shard_numbers(shard) AS (SELECT 0 UNION ALL SELECT shard + 1 FROM shard_numbers WHERE shard < 63)
INSERT OR IGNORE INTO ${q(name.leases)} (shard) SELECT shard FROM shard_numbers`,
        `CREATE TABLE IF NOT EXISTS ${q(name.relays)} (
  relay_id TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL,
  started_at INTEGER NOT NULL
) STRICT`,
      ]),
    }),
    Object.freeze({ version: 2, name: 'consumer inbox', statements: Object.freeze(sqliteInboxDdl(tables)) }),
    // SQLite has no ADD COLUMN IF NOT EXISTS; `migrate` runs a version in one transaction, so a
    // version is never half-applied. Nullable: existing events never expire.
    Object.freeze({
      version: 3,
      name: 'event expiry',
      statements: Object.freeze([name.events, name.published, name.quarantine].map((table) => `ALTER TABLE ${q(table)} ADD COLUMN expires_at INTEGER`)),
    }),
  ]);
}

function migrationsTableDdl(tables: ResolvedTables): string {
  return `CREATE TABLE IF NOT EXISTS ${quoteIdentifier(tables.names.migrations)} (
  version INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  applied_at INTEGER NOT NULL
) STRICT`;
}

/** The idempotent, literal record of one migration, for `migrate --print` (see SchemaDialect.recordMigration). */
export function recordSqliteMigration(tables: ResolvedTables, migration: Migration): string {
  return `INSERT OR IGNORE INTO ${quoteIdentifier(tables.names.migrations)} (version, name, applied_at) VALUES (${Number(migration.version)}, ${sqlStringLiteral(migration.name)}, ${NOW_MS})`;
}

/**
 * Applies the versions not yet recorded, all in one transaction that holds the database write
 * lock from its first statement, so concurrent `migrate` calls (other connections, other
 * processes) run one after the other and the later ones find nothing to do.
 */
export async function migrateSqlite(db: SqlDatabase, tables: ResolvedTables): Promise<number[]> {
  const migrationsTable = quoteIdentifier(tables.names.migrations);
  return db.transaction(async (tx: SqlExecutor) => {
    await tx.query(migrationsTableDdl(tables));
    // openSqliteDatabase's transactions begin IMMEDIATE already. A write (even one that changes
    // nothing) takes the write lock before the read below, which makes this equally safe on a
    // SqlDatabase whose transactions begin DEFERRED.
    await tx.query(`DELETE FROM ${migrationsTable} WHERE 0`);
    const { rows } = await tx.query<{ version: number }>(`SELECT version FROM ${migrationsTable}`);
    const done = new Set(rows.map((row) => row.version));
    const applied: number[] = [];
    for (const migration of sqliteMigrations(tables)) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query(`INSERT INTO ${migrationsTable} (version, name, applied_at) VALUES (?, ?, ${NOW_MS})`, [migration.version, migration.name]);
      applied.push(migration.version);
    }
    return applied;
  });
}
