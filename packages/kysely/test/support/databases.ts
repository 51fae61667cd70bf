import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, type Dialect as KyselyDialect, type Generated, type KyselyConfig } from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import type { Dialect, SqlDatabase } from '@outboxkit/core';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { serviceUrl, uniqueName, withPostgresSchema } from '@outboxkit/testkit';
import { withOutbox } from '../../src/index.js';

/** The business table the tests write and count, keyed by its unique `number`. */
export interface ShopDatabase {
  orders: { id: Generated<number>; number: string; total: number };
}

/** One isolated database (a PostgreSQL schema, a MariaDB database or a SQLite file) with Kysely on it. */
export interface KyselyTestDatabase {
  /** Kysely on a `withOutbox` dialect. */
  readonly db: Kysely<ShopDatabase>;
  /** Another Kysely instance on the same database, with `config` (plugins...), destroyed by `dispose`. */
  open(config?: Omit<KyselyConfig, 'dialect'>, wrap?: boolean): Kysely<ShopDatabase>;
  /** The outbox dialect matching Kysely's, migrated. */
  readonly dialect: Dialect;
  /** An outbox dialect of another database, for the mismatch check. */
  readonly wrongDialect: Dialect;
  /** The relay's own pool on the same tables, apart from every Kysely connection. */
  readonly database: SqlDatabase;
  dispose(): Promise<void>;
}

export interface KyselyDatabaseKind {
  readonly name: string;
  setup(): Promise<KyselyTestDatabase>;
}

/**
 * Kysely instances on `kyselyDialect()` (a new dialect, with its own pool, each time), all
 * destroyed by the returned `dispose` before `drop` removes the database.
 */
function kyselyOn(kyselyDialect: () => KyselyDialect, rest: Omit<KyselyTestDatabase, 'db' | 'open' | 'dispose'>, drop: () => Promise<void>): KyselyTestDatabase {
  const instances: Kysely<ShopDatabase>[] = [];
  const open = (config: Omit<KyselyConfig, 'dialect'> = {}, wrap = true) => {
    const db = new Kysely<ShopDatabase>({ ...config, dialect: wrap ? withOutbox(kyselyDialect()) : kyselyDialect() });
    instances.push(db);
    return db;
  };
  return {
    ...rest,
    db: open(),
    open,
    async dispose() {
      for (const db of instances.splice(0)) await db.destroy();
      await drop();
    },
  };
}

// A schema of its own on the shared server; Kysely's pools have it as search_path.
export const postgresql: KyselyDatabaseKind = {
  name: 'PostgreSQL (pg)',
  async setup() {
    const schema = await withPostgresSchema({ prefix: 'okky' });
    const database = pgDatabase(createPgPool(schema.url, { max: 4 }));
    const dialect = createPostgresDialect({ tables: { schema: schema.schema }, notify: { channel: uniqueName('okky') } });
    await dialect.migrate(database);
    await database.query('CREATE TABLE orders (id serial PRIMARY KEY, number text NOT NULL UNIQUE, total integer NOT NULL)');
    return kyselyOn(() => new PostgresDialect({ pool: new pg.Pool({ connectionString: schema.url, max: 4 }) }), { dialect, wrongDialect: createMysqlDialect(), database }, async () => {
      await database.close();
      await schema.drop();
    });
  },
};

// A database of its own on the shared server, dropped afterwards.
export const mariadb: KyselyDatabaseKind = {
  name: 'MariaDB (mysql2)',
  async setup() {
    const serverUrl = await serviceUrl('mysql');
    const name = uniqueName('okky');
    const database = mysqlDatabase(createMysqlPool(serverUrl, { connectionLimit: 4 }));
    await database.query(`CREATE DATABASE \`${name}\``);
    const dialect = createMysqlDialect({ tables: { schema: name } });
    await dialect.migrate(database);
    await database.query(`CREATE TABLE \`${name}\`.orders (id INT AUTO_INCREMENT PRIMARY KEY, number VARCHAR(191) NOT NULL UNIQUE, total INT NOT NULL) ENGINE=InnoDB`);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    return kyselyOn(() => new MysqlDialect({ pool: createPool({ uri: url.toString(), connectionLimit: 4 }) }), { dialect, wrongDialect: createSqliteDialect(), database }, async () => {
      await database.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await database.close();
    });
  },
};

// A file of its own in a temporary directory; the relay opens it separately (WAL).
export const sqlite: KyselyDatabaseKind = {
  name: 'SQLite (better-sqlite3)',
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), 'outboxkit-kysely-'));
    const path = join(dir, 'shop.db');
    const database = openSqliteDatabase(path);
    const dialect = createSqliteDialect();
    await dialect.migrate(database);
    await database.query('CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL UNIQUE, total INTEGER NOT NULL)');
    return kyselyOn(() => new SqliteDialect({ database: new Database(path) }), { dialect, wrongDialect: createPostgresDialect(), database }, async () => {
      await database.close();
      rmSync(dir, { recursive: true, force: true });
    });
  },
};

/** Orders with `number = key`, as `handle` (the instance or a transaction) sees them. */
export async function countOrders(handle: Kysely<ShopDatabase>, key: string): Promise<number> {
  const { n } = await handle
    .selectFrom('orders')
    .select((eb) => eb.fn.countAll().as('n'))
    .where('number', '=', key)
    .executeTakeFirstOrThrow();
  // PostgreSQL's count(*) is a bigint, which pg returns as text.
  return Number(n);
}
