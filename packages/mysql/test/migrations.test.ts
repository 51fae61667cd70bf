import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARD_COUNT } from '@outboxkit/core';
import { createTestDatabase, rows, type TestDatabase } from './helpers.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ migrate: false });
});
afterAll(async () => {
  await t?.drop();
});

describe('mysql migrations', () => {
  it('are printable: parameter-free, idempotent statements on the configured schema', () => {
    const migrations = t.dialect.migrations();
    expect(migrations.map((m) => m.version)).toEqual([1, 2, 3]);
    const statements = migrations.flatMap((m) => m.statements);
    for (const statement of statements) {
      expect(statement).not.toContain('?');
      expect(statement).toMatch(
        /^(CREATE TABLE IF NOT EXISTS|INSERT IGNORE INTO|SET @outboxkit_ddl = IF\(EXISTS\(SELECT 1 FROM information_schema.COLUMNS|(PREPARE|EXECUTE|DEALLOCATE PREPARE) outboxkit_ddl)\b/,
      );
      // The expiry migration's PREPARE / EXECUTE steps name no table: the SET before them does.
      if (!/^(PREPARE|EXECUTE|DEALLOCATE)/.test(statement)) expect(statement).toContain(`\`${t.schema}\`.`);
    }
    expect(statements.join(';\n')).toContain(`CREATE TABLE IF NOT EXISTS \`${t.schema}\`.\`outbox_events\``);
  });

  it('run once when two processes migrate at the same time, then never again', async () => {
    const [first, second] = await Promise.all([t.dialect.migrate(t.db), t.dialect.migrate(t.db)]);
    expect([first, second].sort((a, b) => b.length - a.length)).toEqual([[1, 2, 3], []]);
    expect(await t.dialect.migrate(t.db)).toEqual([]);

    const versions = await rows<{ version: number }>(t.pool, `SELECT version FROM ${t.table('migrations')} ORDER BY version`);
    expect(versions.map((v) => v.version)).toEqual([1, 2, 3]);
    const leases = await rows<{ n: number; low: number; high: number }>(
      t.pool,
      `SELECT COUNT(*) AS n, MIN(shard) AS low, MAX(shard) AS high FROM ${t.table('leases')}`,
    );
    expect(leases[0]).toEqual({ n: SHARD_COUNT, low: 0, high: SHARD_COUNT - 1 });
  });

  it('create every table of the contract, in InnoDB', async () => {
    const tables = await rows<{ name: string; engine: string }>(
      t.pool,
      'SELECT TABLE_NAME AS name, ENGINE AS engine FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME',
      [t.schema],
    );
    expect(tables.map((table) => table.name)).toEqual([
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
    expect(new Set(tables.map((table) => table.engine))).toEqual(new Set(['InnoDB']));
  });

  it('a database at version 2 gets the expiry column on its three event tables', async () => {
    const columns = await rows<{ name: string }>(
      t.pool,
      "SELECT TABLE_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND COLUMN_NAME = 'expires_at' AND DATA_TYPE = 'datetime' AND IS_NULLABLE = 'YES' AND TABLE_NAME NOT IN ('outbox_leases', 'outbox_relays') ORDER BY TABLE_NAME",
      [t.schema],
    );
    expect(columns.map((column) => column.name)).toEqual(['outbox_events', 'outbox_published', 'outbox_quarantine']);
    // Back to version 2 (the column dropped, version 3 unrecorded): migrate applies version 3 alone.
    for (const table of ['events', 'published', 'quarantine'] as const) await t.pool.query(`ALTER TABLE ${t.table(table)} DROP COLUMN expires_at`);
    await t.pool.query(`DELETE FROM ${t.table('migrations')} WHERE version = 3`);
    expect(await t.dialect.migrate(t.db)).toEqual([3]);
    const again = await rows<{ n: number }>(
      t.pool,
      "SELECT COUNT(*) AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND COLUMN_NAME = 'expires_at' AND TABLE_NAME NOT IN ('outbox_leases', 'outbox_relays')",
      [t.schema],
    );
    expect(again[0]?.n).toBe(3);
  });

  it('re-running the printed statements by hand changes nothing', async () => {
    const connection = await t.pool.getConnection();
    try {
      for (const statement of t.dialect.migrations().flatMap((m) => m.statements)) await connection.query(statement);
    } finally {
      connection.release();
    }
    const leases = await rows<{ n: number }>(t.pool, `SELECT COUNT(*) AS n FROM ${t.table('leases')}`);
    expect(leases[0]?.n).toBe(SHARD_COUNT);
    expect(await t.dialect.migrate(t.db)).toEqual([]);
  });
});
