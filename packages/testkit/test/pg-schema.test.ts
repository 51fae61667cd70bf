import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { serviceUrl, withPostgresSchema } from '../src/index.js';

async function query<Row extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<Row>(text, values)).rows;
  } finally {
    await client.end();
  }
}

async function schemaExists(schema: string): Promise<boolean> {
  const rows = await query(await serviceUrl('postgres'), 'SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]);
  return rows.length === 1;
}

describe('withPostgresSchema (real PostgreSQL)', () => {
  it('creates a unique schema that clients built from its url use by default, and drops it', async () => {
    const first = await withPostgresSchema({ prefix: 'okt_schema' });
    const second = await withPostgresSchema({ prefix: 'okt_schema' });
    try {
      expect(first.schema).toMatch(/^okt_schema_[a-z0-9]+_[0-9a-f]{8}$/);
      expect(second.schema).not.toBe(first.schema);
      expect(await schemaExists(first.schema)).toBe(true);

      const [current] = await query<{ schema: string }>(first.url, 'SELECT current_schema() AS schema');
      expect(current?.schema).toBe(first.schema);

      // Unqualified tables land in the test's own schema, invisible to the other one.
      await query(first.url, 'CREATE TABLE outbox_events (id int)');
      const tables = await query<{ table_schema: string }>(
        first.url,
        "SELECT table_schema FROM information_schema.tables WHERE table_name = 'outbox_events' AND table_schema IN ($1, $2)",
        [first.schema, second.schema],
      );
      expect(tables).toEqual([{ table_schema: first.schema }]);
    } finally {
      await first.drop();
      await second.drop();
    }
    expect(await schemaExists(first.schema)).toBe(false);
    expect(await schemaExists(second.schema)).toBe(false);
    await expect(first.drop()).resolves.toBeUndefined();
  });

  it('rejects a prefix that would not be a plain identifier', async () => {
    await expect(withPostgresSchema({ prefix: 'bad"; DROP' })).rejects.toThrow(/withPostgresSchema\.prefix/);
  });
});
