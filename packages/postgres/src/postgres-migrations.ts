import { OutboxError, SHARD_COUNT, sqlStringLiteral, type Migration, type ResolvedTables, type SqlDatabase } from '@outboxkit/core';
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

/** `"schema"."<events>_claim"`: the function the relay claims through (migrations 3 to 5). */
export function claimFunction(tables: ResolvedTables): string {
  const name = indexName(tables, 'events', 'claim');
  return tables.schema === null ? name : `${quoteIdentifier(tables.schema)}.${name}`;
}

/**
 * The claim as a function, so its plan never depends on planner statistics. On a table that
 * was never analyzed (or was analyzed empty, as after every drained backlog) PostgreSQL guesses
 * a few hundred rows, and a few hundred rows are cheaper to sort than to read in index order:
 * the claim became a sequential scan + sort of the whole backlog (100+ ms per claim at 50,000
 * rows, O(n^2) over a drain). The SET clauses make the only sort-free plan, the primary key in
 * position order with index probes for the two look-ups, the chosen one whatever the estimates;
 * they apply to this function's statement only. Status-based, never a position cursor: a
 * transaction that commits late is simply claimed later. Only markFailed moves available_at
 * into the future, and it always increments attempts: the redundant `attempts > 0` lets the
 * small partial backoff index answer the first look-up. The parked look-up is served by the
 * quarantine (aggregate_type, aggregate_id, status) index. JSON as text: a driver's jsonb parser
 * (or its absence) cannot tell the JSON string "x" from the text x. Migration 3 created it
 * without `expires_at`; migration 4 recreates it with it (a changed result type cannot be
 * `CREATE OR REPLACE`d), so both texts stay as they were applied. Migration 5 makes it PL/pgSQL:
 * a LANGUAGE sql function with SET clauses is never inlined and is planned again at every call
 * (~0.4 ms of server CPU per claim, most of an idle poll's cost); PL/pgSQL keeps the body's plan
 * for the session (~0.1 ms), still made with the SET clauses in force, so the cached plan is the
 * same sort-free one whatever the table looked like when it was made.
 */
function createClaimFunction(tables: ResolvedTables, withExpiry: boolean, language: 'sql' | 'plpgsql' = 'sql'): string {
  const events = qualifiedTable(tables, 'events');
  const quarantine = qualifiedTable(tables, 'quarantine');
  // Identifiers are [A-Za-z0-9_] (validateIdentifier), so they cannot close the $$ quote.
  return `CREATE OR REPLACE FUNCTION ${claimFunction(tables)}(shards int[], max_rows int)
RETURNS TABLE ("position" bigint, id uuid, aggregate_type varchar, aggregate_id varchar, sequence bigint, shard smallint,
  type varchar, destination varchar, payload text, headers text, occurred_at timestamptz, attempts integer${withExpiry ? ', expires_at timestamptz' : ''})
LANGUAGE ${language} STABLE
SET enable_seqscan = off
SET enable_sort = off
AS $$
${language === 'plpgsql' ? 'BEGIN RETURN QUERY\n' : ''}SELECT e.position, e.id, e.aggregate_type, e.aggregate_id, e.sequence, e.shard, e.type, e.destination,
       e.payload::text, e.headers::text, e.occurred_at, e.attempts${withExpiry ? ', e.expires_at' : ''}
FROM ${events} e
WHERE e.shard = ANY($1)
  AND e.available_at <= now()
  AND NOT EXISTS (
    SELECT 1 FROM ${events} earlier
    WHERE earlier.aggregate_type = e.aggregate_type AND earlier.aggregate_id = e.aggregate_id
      AND earlier.position < e.position AND earlier.attempts > 0 AND earlier.available_at > now())
  AND NOT EXISTS (
    SELECT 1 FROM ${quarantine} q
    WHERE q.aggregate_type = e.aggregate_type AND q.aggregate_id = e.aggregate_id AND q.status = 'parked')
ORDER BY e.position
LIMIT $2${language === 'plpgsql' ? ';\nEND' : ''}
$$`;
}

function dropClaimFunction(tables: ResolvedTables): string {
  return `DROP FUNCTION IF EXISTS ${claimFunction(tables)}(int[], int)`;
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
    // The DROP lets a `migrate --print` script run again on a database that is past migration 4,
    // whose function has a different result type; migrations 4 and 5 then recreate the current one.
    Object.freeze({ version: 3, name: 'claim function', statements: Object.freeze([dropClaimFunction(tables), createClaimFunction(tables, false)]) }),
    Object.freeze({
      version: 4,
      name: 'event expiry',
      statements: Object.freeze([
        // Nullable, no default: adding it rewrites no rows, and existing events never expire.
        ...(['events', 'published', 'quarantine'] as const).map((name) => `ALTER TABLE ${t(name)} ADD COLUMN IF NOT EXISTS expires_at timestamptz(3)`),
        dropClaimFunction(tables),
        createClaimFunction(tables, true),
      ]),
    }),
    // Same signature and result type, so CREATE OR REPLACE swaps the body in place.
    Object.freeze({ version: 5, name: 'claim plan kept per session', statements: Object.freeze([createClaimFunction(tables, true, 'plpgsql')]) }),
  ]);
}

/** The longest `migrate` waits for the migration lock or a table lock, in seconds. */
export const MIGRATION_LOCK_WAIT_SECONDS = 30;

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
    // Bounded: the advisory lock, and the table locks the DDL takes, wait at most this long
    // (a DDL lock queued behind a long transaction would stall every writer of the table).
    await tx.query(`SET LOCAL lock_timeout = '${MIGRATION_LOCK_WAIT_SECONDS}s'`);
    try {
      await tx.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    } catch (error) {
      if ((error as { code?: unknown }).code !== '55P03') throw error;
      throw new OutboxError(
        'OUTBOX_MIGRATION_LOCKED',
        `another session has held the outboxkit migration lock for ${MIGRATION_LOCK_WAIT_SECONDS}s; wait for that migration to finish and run migrate again ` +
          `(SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted shows the holder)`,
        { cause: error },
      );
    }
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
