import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import type { Dialect, SqlDatabase } from '@outboxkit/core';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { serviceUrl, uniqueName, withPostgresSchema } from '@outboxkit/testkit';

/** The business tables: the conformance suite's rows and the plugin suite's orders. */
export const TABLES = ['conformance_rows', 'orders'] as const;

/**
 * One isolated database for one test file: the outbox tables migrated by the dialect (through
 * the relay's own pool), and a knex instance on the same database with the business tables.
 */
export interface KnexTestDatabase {
  readonly knex: Knex;
  readonly dialect: Dialect;
  /** The relay's pool: a different connection from every knex connection. */
  readonly relayDatabase: SqlDatabase;
  /** The knex config, for a second instance on the same database. */
  readonly config: Knex.Config;
  dispose(): Promise<void>;
}

export interface KnexTarget {
  readonly name: string;
  setup(): Promise<KnexTestDatabase>;
}

async function open(config: Knex.Config, dialect: Dialect, relayDatabase: SqlDatabase, drop: () => Promise<void>): Promise<KnexTestDatabase> {
  await dialect.migrate(relayDatabase);
  const knex = knexFactory(config);
  for (const table of TABLES) {
    await knex.schema.createTable(table, (t) => {
      t.string('id', 64).primary();
      t.integer('total').notNullable();
      t.string('status', 32).notNullable().defaultTo('new');
    });
  }
  return {
    knex,
    dialect,
    relayDatabase,
    config,
    async dispose() {
      await knex.destroy();
      await drop();
    },
  };
}

export const postgresTarget: KnexTarget = {
  name: 'PostgreSQL (pg)',
  async setup() {
    const server = await serviceUrl('postgres');
    const { schema, drop } = await withPostgresSchema({ prefix: 'okknex' });
    const relayDatabase = pgDatabase(createPgPool(server, { max: 4 }));
    // searchPath: knex's unqualified business tables live in the test's schema, next to the outbox tables.
    const config: Knex.Config = { client: 'pg', connection: server, searchPath: [schema], pool: { min: 0, max: 4 } };
    return open(config, createPostgresDialect({ tables: { schema } }), relayDatabase, async () => {
      await relayDatabase.close();
      await drop();
    });
  },
};

export const mariadbTarget: KnexTarget = {
  name: 'MariaDB (mysql2)',
  async setup() {
    const server = await serviceUrl('mysql');
    const database = uniqueName('okknex');
    const relayDatabase = mysqlDatabase(createMysqlPool(server, { connectionLimit: 4 }));
    await relayDatabase.query(`CREATE DATABASE \`${database}\``);
    const url = new URL(server);
    url.pathname = `/${database}`;
    const config: Knex.Config = { client: 'mysql2', connection: url.toString(), pool: { min: 0, max: 4 } };
    return open(config, createMysqlDialect({ tables: { schema: database } }), relayDatabase, async () => {
      await relayDatabase.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await relayDatabase.close();
    });
  },
};

export const sqliteTarget: KnexTarget = {
  name: 'SQLite (better-sqlite3)',
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), 'outboxkit-knex-'));
    const filename = join(dir, 'app.db');
    // The relay's connection migrates the file and switches it to WAL first.
    const relayDatabase = openSqliteDatabase(filename);
    const config: Knex.Config = { client: 'better-sqlite3', connection: { filename }, useNullAsDefault: true };
    return open(config, createSqliteDialect(), relayDatabase, async () => {
      await relayDatabase.close();
      rmSync(dir, { recursive: true, force: true });
    });
  },
};

/** Rows of `table` with `id`: committed ones, or with `trx` what that transaction sees. */
export async function countRows(db: Knex | Knex.Transaction, table: string, id: string): Promise<number> {
  const [row] = await db(table).where({ id }).count({ n: '*' });
  // pg answers COUNT(*) as a string (bigint), mysql2 and better-sqlite3 as a number.
  return Number(row?.n);
}
