import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { OutboxConfigError, SHARD_COUNT } from '@outboxkit/core';
import { createSqliteDialect } from '../src/index.js';
import { useTempFiles } from './support.js';

const files = useTempFiles();

function tableNames(path: string): string[] {
  const raw = new BetterSqlite3(path, { readonly: true });
  try {
    return (
      raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as {
        name: string;
      }[]
    ).map((row) => row.name);
  } finally {
    raw.close();
  }
}

describe('migrate', () => {
  it('applies versions 1 to 3 once and is a no-op when run again', async () => {
    const path = files.newPath();
    const db = files.open(path);
    const dialect = createSqliteDialect();

    expect(await dialect.migrate(db)).toEqual([1, 2, 3]);
    expect(await dialect.migrate(db)).toEqual([]);

    expect(tableNames(path)).toEqual([
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
    const { rows: versions } = await db.query<{ version: number; name: string }>('SELECT version, name FROM outbox_migrations ORDER BY version');
    expect(versions).toEqual([
      { version: 1, name: 'outbox tables' },
      { version: 2, name: 'consumer inbox' },
      { version: 3, name: 'event expiry' },
    ]);
    for (const table of ['outbox_events', 'outbox_published', 'outbox_quarantine']) {
      const { rows: columns } = await db.query<{ type: string; notnull: number }>(
        `SELECT type, "notnull" FROM pragma_table_info('${table}') WHERE name = 'expires_at'`,
      );
      expect(columns, table).toEqual([{ type: 'INTEGER', notnull: 0 }]);
    }
    const { rows: leases } = await db.query<{ n: number; low: number; high: number; epochs: number }>(
      'SELECT count(*) AS n, min(shard) AS low, max(shard) AS high, sum(epoch) AS epochs FROM outbox_leases',
    );
    expect(leases[0]).toEqual({ n: SHARD_COUNT, low: 0, high: SHARD_COUNT - 1, epochs: 0 });
  });

  it('is safe when two connections to one file migrate at the same time', async () => {
    const path = files.newPath();
    const first = files.open(path);
    const second = files.open(path);
    const dialect = createSqliteDialect();

    const results = await Promise.all([dialect.migrate(first), dialect.migrate(second)]);

    expect(results.map((applied) => applied.join(',')).sort()).toEqual(['', '1,2,3']);
    const { rows } = await second.query<{ n: number }>('SELECT count(*) AS n FROM outbox_migrations');
    expect(rows[0]!.n).toBe(3);
  });

  it('uses the configured table names', async () => {
    const { path } = await files.migrated({ tables: { prefix: 'shop_', names: { events: 'shop_pending' } } });
    expect(tableNames(path)).toEqual([
      'shop_inbox',
      'shop_inbox_sequences',
      'shop_leases',
      'shop_migrations',
      'shop_pending',
      'shop_published',
      'shop_quarantine',
      'shop_relays',
      'shop_sequences',
    ]);
  });
});

describe('migrations() for `migrate --print`', () => {
  it('returns plain SQL that builds the same schema when a DBA runs it by hand', () => {
    const migrations = createSqliteDialect().migrations();
    expect(migrations.map((m) => m.version)).toEqual([1, 2, 3]);
    const script = migrations.flatMap((m) => m.statements).join(';\n') + ';';
    expect(script).toContain('CREATE TABLE IF NOT EXISTS "outbox_events"');
    expect(script).not.toContain('?'); // no bound parameters: printable as is

    const path = files.newPath();
    const raw = files.openRaw(path);
    raw.exec(script);
    // Idempotent when run twice up to the expiry migration: SQLite has no ADD COLUMN IF NOT
    // EXISTS, so its first ALTER stops the second run, having changed nothing (docs/design.md).
    expect(() => raw.exec(script)).toThrow(/duplicate column name: expires_at/);
    raw.close();
    expect(tableNames(path)).toHaveLength(9);
  });
});

describe('table options', () => {
  it.each([
    [{ prefix: 'x"; DROP TABLE users; --' }, 'tables.prefix'],
    [{ names: { events: 'events where 1=1' } }, 'tables.names.events'],
    [{ names: { bogus: 'x' } as never }, 'tables.names.bogus'],
    [{ schema: 'main' }, 'tables.schema'],
  ])('rejects %j with an OutboxConfigError naming %s', (tables, option) => {
    let error: unknown;
    try {
      createSqliteDialect({ tables });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OutboxConfigError);
    expect((error as OutboxConfigError).option).toBe(option);
  });

  it('explains why tables.schema is refused', () => {
    expect(() => createSqliteDialect({ tables: { schema: 'audit' } })).toThrow(/ATTACHed file would not commit atomically/);
  });

  it('refuses unknown options, naming the key, instead of ignoring them', () => {
    let error: unknown;
    try {
      createSqliteDialect({ tabels: { prefix: 'shop_' } } as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OutboxConfigError);
    expect((error as OutboxConfigError).option).toBe('tabels');
    expect((error as Error).message).toMatch(/^tabels: unknown option; known: tables/);
    expect(() => createSqliteDialect(null as never)).toThrow(OutboxConfigError);
  });
});
