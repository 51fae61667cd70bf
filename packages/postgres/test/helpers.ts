import pg from 'pg';
import type { EventInput, SqlDatabase } from '@outboxkit/core';
// The testkit is imported by path: it is not (yet) a devDependency of this package.
import { serviceUrl, uniqueName } from '../../testkit/src/index.js';
import { createPostgresDialect, pgDatabase, type PostgresDialect, type PostgresDialectOptions } from '../src/index.js';

export { uniqueName };

export interface TestSchema {
  url: string;
  schema: string;
  pool: pg.Pool;
  db: SqlDatabase;
  dialect: PostgresDialect;
  /** `"schema"."table"` of one outbox table, for assertions. */
  table(name: keyof PostgresDialect['tables']['names']): string;
  /** Empties every outbox table and frees every lease, so tests in one file do not see each other. */
  reset(): Promise<void>;
  /** Drops the schema (CASCADE) and ends the pool. */
  drop(): Promise<void>;
}

/** A fresh schema with the outbox migrated into it. Call `drop()` in afterAll. */
export async function createTestSchema(options: Omit<PostgresDialectOptions, 'tables'> = {}): Promise<TestSchema> {
  const url = await serviceUrl('postgres');
  const schema = uniqueName('okt');
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  const db = pgDatabase(pool);
  const dialect = createPostgresDialect({ ...options, tables: { schema } });
  await dialect.migrate(db);
  const table = (name: keyof PostgresDialect['tables']['names']): string => `"${schema}"."${dialect.tables.names[name]}"`;
  return {
    url,
    schema,
    pool,
    db,
    dialect,
    table,
    async reset() {
      const { names } = dialect.tables;
      await pool.query(
        `TRUNCATE ${[names.events, names.sequences, names.published, names.quarantine, names.relays].map((n) => `"${schema}"."${n}"`).join(', ')}`,
      );
      await pool.query(`UPDATE ${table('leases')} SET owner = NULL, epoch = 0, expires_at = NULL`);
    },
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

/** A client checked out of `pool` with BEGIN already run. */
export async function begin(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  await client.query('BEGIN');
  return client;
}

export async function commit(client: pg.PoolClient): Promise<void> {
  await client.query('COMMIT');
  client.release();
}

export async function rollback(client: pg.PoolClient): Promise<void> {
  await client.query('ROLLBACK');
  client.release();
}

export function orderEvent(aggregateId: string, type = 'OrderPlaced', payload: unknown = { aggregateId }): EventInput {
  return { aggregateType: 'order', aggregateId, type, payload } as EventInput;
}

/** Polls `check` until it returns true; fails with `what` if that takes more than ~10 s. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** True once backend `pid` is blocked on a lock (a row lock held by another transaction). */
export async function isWaitingOnLock(pool: pg.Pool, pid: number): Promise<boolean> {
  const { rows } = await pool.query<{ waiting: boolean }>(`SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1`, [pid]);
  return rows[0]?.waiting === true;
}

export async function backendPid(client: pg.PoolClient | pg.Client): Promise<number> {
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  return rows[0]!.pid;
}
