import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { serviceUrl, uniqueName } from '@outboxkit/testkit';

/** One isolated place for the outbox tables on one of the three databases, named the way the relay's flags name it. */
export interface TestDatabase {
  readonly kind: DatabaseKind;
  /** What `--database-url` takes. */
  readonly url: string;
  /** What `--schema` takes (PostgreSQL schema / MySQL database); undefined for SQLite. */
  readonly schema: string | undefined;
  dispose(): Promise<void>;
}

export type DatabaseKind = 'PostgreSQL' | 'MariaDB' | 'SQLite';
export const DATABASE_KINDS: readonly DatabaseKind[] = ['PostgreSQL', 'MariaDB', 'SQLite'];

export async function createTestDatabase(kind: DatabaseKind): Promise<TestDatabase> {
  switch (kind) {
    case 'PostgreSQL': {
      const url = await serviceUrl('postgres');
      const schema = uniqueName('okt');
      return {
        kind,
        url,
        schema,
        async dispose() {
          const client = new pg.Client({ connectionString: url });
          await client.connect();
          await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
          await client.end();
        },
      };
    }
    case 'MariaDB': {
      const url = await serviceUrl('mysql');
      const schema = uniqueName('okt');
      const admin = await mysql.createConnection(url);
      await admin.query(`CREATE DATABASE \`${schema}\``);
      await admin.end();
      return {
        kind,
        url,
        schema,
        async dispose() {
          const conn = await mysql.createConnection(url);
          await conn.query(`DROP DATABASE IF EXISTS \`${schema}\``);
          await conn.end();
        },
      };
    }
    case 'SQLite': {
      const dir = mkdtempSync(join(tmpdir(), 'okt-'));
      return {
        kind,
        url: `sqlite:${join(dir, 'outbox.db')}`,
        schema: undefined,
        async dispose() {
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
  }
}
