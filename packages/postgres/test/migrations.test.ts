import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelopes, SHARD_COUNT } from '@outboxkit/core';
import { createPostgresDialect, pgDatabase } from '../src/index.js';
import { createTestSchema, uniqueName, type TestSchema } from './helpers.js';

describe('postgres migrations', () => {
  let t: TestSchema;
  const extraSchemas: string[] = [];

  beforeAll(async () => {
    t = await createTestSchema();
  });

  afterAll(async () => {
    for (const schema of extraSchemas) await t.pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await t.drop();
  });

  it('creates every table of the contract, records versions 1 to 5 and the 64 lease rows', async () => {
    const { rows: tables } = await t.pool.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [t.schema],
    );
    expect(tables.map((row) => row.table_name)).toEqual([
      'outbox_events',
      'outbox_inbox',
      'outbox_inbox_sequences',
      'outbox_leases',
      'outbox_migrations',
      'outbox_published',
      'outbox_quarantine',
      'outbox_relays',
      'outbox_sequences',
    ]);
    const { rows: versions } = await t.pool.query(`SELECT version, name FROM ${t.table('migrations')} ORDER BY version`);
    expect(versions).toEqual([
      { version: 1, name: 'outbox tables' },
      { version: 2, name: 'consumer inbox' },
      { version: 3, name: 'claim function' },
      { version: 4, name: 'event expiry' },
      { version: 5, name: 'claim plan kept per session' },
    ]);
    const { rows: leases } = await t.pool.query(
      `SELECT min(shard) AS lo, max(shard) AS hi, count(*)::int AS n, sum(epoch)::int AS epochs FROM ${t.table('leases')}`,
    );
    expect(leases[0]).toEqual({ lo: 0, hi: SHARD_COUNT - 1, n: SHARD_COUNT, epochs: 0 });
  });

  it('uses jsonb payloads, millisecond timestamptz and a bigint identity position', async () => {
    const { rows } = await t.pool.query<{ column_name: string; data_type: string; datetime_precision: number | null }>(
      `SELECT column_name, data_type, datetime_precision FROM information_schema.columns
       WHERE table_schema = $1 AND table_name = 'outbox_events' AND column_name IN ('position', 'id', 'payload', 'headers', 'occurred_at', 'available_at')
       ORDER BY column_name`,
      [t.schema],
    );
    expect(rows).toEqual([
      { column_name: 'available_at', data_type: 'timestamp with time zone', datetime_precision: 3 },
      { column_name: 'headers', data_type: 'jsonb', datetime_precision: null },
      { column_name: 'id', data_type: 'uuid', datetime_precision: null },
      { column_name: 'occurred_at', data_type: 'timestamp with time zone', datetime_precision: 3 },
      { column_name: 'payload', data_type: 'jsonb', datetime_precision: null },
      { column_name: 'position', data_type: 'bigint', datetime_precision: null },
    ]);
  });

  it('is idempotent: a second run applies nothing and changes nothing', async () => {
    await t.pool.query(`UPDATE ${t.table('leases')} SET epoch = 7 WHERE shard = 3`);
    expect(await t.dialect.migrate(t.db)).toEqual([]);
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n, max(epoch)::int AS top FROM ${t.table('leases')}`);
    expect(rows[0]).toEqual({ n: SHARD_COUNT, top: 7 });
    await t.pool.query(`UPDATE ${t.table('leases')} SET epoch = 0`);
  });

  it('is safe when two migrators race on an empty schema: one applies, the other finds it done', async () => {
    const schema = uniqueName('okt');
    extraSchemas.push(schema);
    const dialect = createPostgresDialect({ tables: { schema } });
    // Two pools, so the two migrations really run on two sessions at once.
    const pools = [new pg.Pool({ connectionString: t.url, max: 1 }), new pg.Pool({ connectionString: t.url, max: 1 })];
    try {
      const results = await Promise.all(pools.map((pool) => dialect.migrate(pgDatabase(pool))));
      expect(results.map((r) => r.join(',')).sort()).toEqual(['', '1,2,3,4,5']);
    } finally {
      await Promise.all(pools.map((pool) => pool.end()));
    }
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM "${schema}"."outbox_leases"`);
    expect(rows[0].n).toBe(SHARD_COUNT);
  });

  it('migrations() is printable SQL that names the configured schema and tables', () => {
    const dialect = createPostgresDialect({ tables: { schema: 'billing', prefix: 'ob_', names: { events: 'pending_events' } } });
    const migrations = dialect.migrations();
    expect(migrations.map((m) => m.version)).toEqual([1, 2, 3, 4, 5]);
    const sql = migrations.flatMap((m) => m.statements).join(';\n\n');
    expect(sql).toContain('CREATE SCHEMA IF NOT EXISTS "billing"');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "billing"."pending_events"');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "billing"."ob_leases"');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "billing"."ob_inbox"');
    expect(sql).toContain('CREATE TABLE IF NOT EXISTS "billing"."ob_inbox_sequences"');
    expect(sql).not.toContain('outbox_');
    for (const statement of migrations.flatMap((m) => m.statements))
      expect(statement).toMatch(/IF NOT EXISTS|ON CONFLICT|CREATE OR REPLACE|DROP FUNCTION IF EXISTS/);
  });

  it('migrates custom table names, and the printed statements alone build a working schema', async () => {
    const schema = uniqueName('okt');
    extraSchemas.push(schema);
    const dialect = createPostgresDialect({ tables: { schema, prefix: 'ob_', names: { events: 'pending_events' } } });
    // What a DBA would do with `migrate --print`: run the statements by hand, then let migrate() record them.
    for (const statement of dialect.migrations().flatMap((m) => m.statements)) await t.pool.query(statement);
    expect(await dialect.migrate(t.db)).toEqual([1, 2, 3, 4, 5]);
    expect(await dialect.migrate(t.db)).toEqual([]);
    // And once more by hand on the migrated schema (a re-run `migrate --print` script): still fine.
    for (const statement of dialect.migrations().flatMap((m) => m.statements)) await t.pool.query(statement);
    const { rows } = await t.pool.query<{ table_name: string }>(
      'SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name',
      [schema],
    );
    expect(rows.map((row) => row.table_name)).toEqual([
      'ob_inbox',
      'ob_inbox_sequences',
      'ob_leases',
      'ob_migrations',
      'ob_published',
      'ob_quarantine',
      'ob_relays',
      'ob_sequences',
      'pending_events',
    ]);
  });

  it('upgrades a schema at version 3: the expiry columns, and a claim function that returns expires_at', async () => {
    const schema = uniqueName('okt');
    extraSchemas.push(schema);
    const dialect = createPostgresDialect({ tables: { schema } });
    const [v1, v2, v3] = dialect.migrations();
    for (const migration of [v1!, v2!, v3!]) {
      for (const statement of migration.statements) await t.pool.query(statement);
      await t.pool.query(dialect.recordMigration(migration));
    }
    expect(await dialect.migrate(t.db)).toEqual([4, 5]);
    const expiresAt = new Date(Date.now() + 60_000);
    const [event] = createEnvelopes({ aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: null, expiresAt });
    await t.db.transaction((tx) => dialect.insertEvents(tx, [event!]));
    const [claimed] = await dialect.claim(t.db, [event!.shard], 10);
    expect(claimed).toMatchObject({ id: event!.id, expiresAt });
  });

  it('upgrades a schema at version 4: the claim function becomes PL/pgSQL, keeps its SET clauses, and claims as before', async () => {
    const schema = uniqueName('okt');
    extraSchemas.push(schema);
    const dialect = createPostgresDialect({ tables: { schema } });
    for (const migration of dialect.migrations().slice(0, 4)) {
      for (const statement of migration.statements) await t.pool.query(statement);
      await t.pool.query(dialect.recordMigration(migration));
    }
    const claimFunction = async () =>
      (
        await t.pool.query<{ lanname: string; proconfig: string[] }>(
          `SELECT l.lanname, p.proconfig FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
           WHERE p.proname = 'outbox_events_claim' AND p.pronamespace = $1::regnamespace`,
          [schema],
        )
      ).rows;
    expect(await claimFunction()).toEqual([{ lanname: 'sql', proconfig: ['enable_seqscan=off', 'enable_sort=off'] }]);
    const [event] = createEnvelopes({ aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { total: 1 } });
    await t.db.transaction((tx) => dialect.insertEvents(tx, [event!]));
    expect(await dialect.migrate(t.db)).toEqual([5]);
    expect(await claimFunction()).toEqual([{ lanname: 'plpgsql', proconfig: ['enable_seqscan=off', 'enable_sort=off'] }]);
    const [claimed] = await dialect.claim(t.db, [event!.shard], 10);
    expect(claimed).toMatchObject({ id: event!.id, payload: { total: 1 }, sequence: 1 });
  });
});
