import { SHARD_COUNT, sqlStringLiteral, type Migration, type ResolvedTables, type SqlDatabase } from '@outboxkit/core';
import { indexName, qualifiedTable, quoteIdentifier } from './postgres-identifiers.js';
import { postgresInboxDdl } from './postgres-inbox.js';

/**
 * Key of the transaction-scoped advisory lock every migrator takes first. One constant for all
 * schemas: migrations are rare and short, so serialising unrelated schemas costs nothing, and a
 * constant cannot disagree between two versions of this package.
 */
export const MIGRATION_LOCK_KEY = 7_220_501_114_201_301n;

// The columns events, published and quarantine share (position is bigserial only in events).
const eventColumns = (position: string): string => `
  position ${position},
  id uuid NOT NULL,
  aggregate_type varchar(255) NOT NULL,
  aggregate_id varchar(255) NOT NULL,
  sequence bigint NOT NULL,
  shard smallint NOT NULL,
  type varchar(255) NOT NULL,
  destination varchar(255),
  payload jsonb NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}'::jsonb,
  occurred_at timestamptz(3) NOT NULL,
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  available_at timestamptz(3) NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  last_error text`;

function createMigrationsTable(tables: ResolvedTables): string {
  return `CREATE TABLE IF NOT EXISTS ${qualifiedTable(tables, 'migrations')} (
  version integer PRIMARY KEY,
  name varchar(255) NOT NULL,
  applied_at timestamptz(3) NOT NULL DEFAULT now()
)`;
}

function createSchema(tables: ResolvedTables): string[] {
  return tables.schema === null ? [] : [`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(tables.schema)}`];
}

/** The versioned DDL. Every statement is idempotent, so a half-applied manual run can be re-run. */
export function postgresMigrations(tables: ResolvedTables): readonly Migration[] {
  const t = (name: keyof ResolvedTables['names']): string => qualifiedTable(tables, name);
  const idx = (name: keyof ResolvedTables['names'], suffix: string): string => indexName(tables, name, suffix);
  return Object.freeze([
    Object.freeze({
      version: 1,
      name: 'outbox tables',
      statements: Object.freeze([
        ...createSchema(tables),
        createMigrationsTable(tables),
        // bigserial: positions are issued at insert time, so a late commit gets a lower position
        // than rows already claimed; the claim is status-based for exactly that reason.
        `CREATE TABLE IF NOT EXISTS ${t('events')} (${eventColumns('bigserial PRIMARY KEY')},
  CONSTRAINT ${idx('events', 'id_key')} UNIQUE (id)
)`,
        `CREATE INDEX IF NOT EXISTS ${idx('events', 'aggregate_idx')} ON ${t('events')} (aggregate_type, aggregate_id, position)`,
        // Serves the claim's "an earlier row of the same aggregate is backing off" look-up. Only
        // rows that failed at least once are in it, so inserts on the hot path never touch it.
        `CREATE INDEX IF NOT EXISTS ${idx('events', 'backoff_idx')} ON ${t('events')} (aggregate_type, aggregate_id, position) WHERE attempts > 0`,
        `CREATE TABLE IF NOT EXISTS ${t('sequences')} (
  aggregate_type varchar(255) NOT NULL,
  aggregate_id varchar(255) NOT NULL,
  last_sequence bigint NOT NULL,
  PRIMARY KEY (aggregate_type, aggregate_id)
)`,
        `CREATE TABLE IF NOT EXISTS ${t('published')} (${eventColumns('bigint PRIMARY KEY')},
  published_at timestamptz(3) NOT NULL DEFAULT now()
)`,
        `CREATE INDEX IF NOT EXISTS ${idx('published', 'id_idx')} ON ${t('published')} (id)`,
        `CREATE INDEX IF NOT EXISTS ${idx('published', 'published_at_idx')} ON ${t('published')} (published_at)`,
        `CREATE INDEX IF NOT EXISTS ${idx('published', 'aggregate_idx')} ON ${t('published')} (aggregate_type, aggregate_id, sequence)`,
        `CREATE TABLE IF NOT EXISTS ${t('quarantine')} (${eventColumns('bigint NOT NULL')},
  reason text NOT NULL,
  status varchar(20) NOT NULL CHECK (status IN ('parked', 'dead-lettered', 'retried', 'skipped')),
  quarantined_at timestamptz(3) NOT NULL DEFAULT now(),
  resolved_at timestamptz(3),
  resolved_by varchar(255),
  resolution_note text,
  PRIMARY KEY (id)
)`,
        // Serves the claim's "aggregate is parked" look-up and the status figures.
        `CREATE INDEX IF NOT EXISTS ${idx('quarantine', 'aggregate_idx')} ON ${t('quarantine')} (aggregate_type, aggregate_id, status)`,
        `CREATE TABLE IF NOT EXISTS ${t('leases')} (
  shard integer PRIMARY KEY,
  owner varchar(255),
  epoch bigint NOT NULL DEFAULT 0,
  expires_at timestamptz(3)
)`,
        `INSERT INTO ${t('leases')} (shard) SELECT generate_series(0, ${SHARD_COUNT - 1}) ON CONFLICT (shard) DO NOTHING`,
        `CREATE TABLE IF NOT EXISTS ${t('relays')} (
  relay_id varchar(255) PRIMARY KEY,
  expires_at timestamptz(3) NOT NULL,
  started_at timestamptz(3) NOT NULL DEFAULT now()
)`,
      ]),
    }),
    Object.freeze({ version: 2, name: 'consumer inbox', statements: Object.freeze(postgresInboxDdl(tables)) }),
  ]);
}

/** The idempotent, literal record of one migration, for `migrate --print` (see SchemaDialect.recordMigration). */
export function recordPostgresMigration(tables: ResolvedTables, migration: Migration): string {
  return `INSERT INTO ${qualifiedTable(tables, 'migrations')} (version, name) VALUES (${Number(migration.version)}, ${sqlStringLiteral(migration.name)}) ON CONFLICT (version) DO NOTHING`;
}

/**
 * Applies the migrations not yet recorded, in order, in ONE transaction that first takes a
 * transaction-scoped advisory lock: concurrent migrators queue behind each other and the later
 * ones find every version recorded. Transactional DDL means a failure leaves nothing half-done.
 * Returns the versions applied by this call (empty on a re-run).
 */
export async function migratePostgres(db: SqlDatabase, tables: ResolvedTables): Promise<number[]> {
  const migrationsTable = qualifiedTable(tables, 'migrations');
  return db.transaction(async (tx) => {
    await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    for (const statement of createSchema(tables)) await tx.query(statement);
    await tx.query(createMigrationsTable(tables));
    const { rows } = await tx.query<{ version: number }>(`SELECT version FROM ${migrationsTable}`);
    const done = new Set(rows.map((row) => Number(row.version)));
    const applied: number[] = [];
    for (const migration of postgresMigrations(tables)) {
      if (done.has(migration.version)) continue;
      for (const statement of migration.statements) await tx.query(statement);
      await tx.query(`INSERT INTO ${migrationsTable} (version, name) VALUES ($1, $2)`, [migration.version, migration.name]);
      applied.push(migration.version);
    }
    return applied;
  });
}
