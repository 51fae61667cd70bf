import Database from 'better-sqlite3';
import { Kysely, MysqlDialect, PostgresDialect, SqliteDialect, type Dialect as KyselyDialect, type Generated, type KyselyConfig } from 'kysely';
import { createPool } from 'mysql2';
import pg from 'pg';
import type { Dialect, SqlDatabase } from '@outboxkit/core';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { mariadbOrdersDatabase, postgresOrdersDatabase, sqliteOrdersDatabase, uniqueName, type OrdersDatabase } from '@outboxkit/testkit';
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
 * Kysely on an isolated place of testkit's: instances on `kyselyDialect()` (a new dialect, with
 * its own pool, each time), all destroyed by `dispose` before the place is dropped.
 */
function kyselyOn(place: OrdersDatabase, kyselyDialect: () => KyselyDialect, wrongDialect: Dialect): KyselyTestDatabase {
  const instances: Kysely<ShopDatabase>[] = [];
  const open = (config: Omit<KyselyConfig, 'dialect'> = {}, wrap = true) => {
    const db = new Kysely<ShopDatabase>({ ...config, dialect: wrap ? withOutbox(kyselyDialect()) : kyselyDialect() });
    instances.push(db);
    return db;
  };
  return {
    dialect: place.dialect,
    database: place.database,
    wrongDialect,
    db: open(),
    open,
    async dispose() {
      for (const db of instances.splice(0)) await db.destroy();
      await place.drop();
    },
  };
}

// A schema of its own on the shared server; Kysely's pools have it as search_path.
export const postgresql: KyselyDatabaseKind = {
  name: 'PostgreSQL (pg)',
  async setup() {
    const place = await postgresOrdersDatabase('okky', {
      dialect: (schema) => createPostgresDialect({ tables: { schema }, notify: { channel: uniqueName('okky') } }),
      database: (url) => pgDatabase(createPgPool(url, { max: 4 })),
    });
    return kyselyOn(place, () => new PostgresDialect({ pool: new pg.Pool({ connectionString: place.location, max: 4 }) }), createMysqlDialect());
  },
};

// A database of its own on the shared server, dropped afterwards.
export const mariadb: KyselyDatabaseKind = {
  name: 'MariaDB (mysql2)',
  async setup() {
    const place = await mariadbOrdersDatabase('okky', {
      dialect: (schema) => createMysqlDialect({ tables: { schema } }),
      database: (url) => mysqlDatabase(createMysqlPool(url, { connectionLimit: 4 })),
    });
    return kyselyOn(place, () => new MysqlDialect({ pool: createPool({ uri: place.location, connectionLimit: 4 }) }), createSqliteDialect());
  },
};

// A file of its own in a temporary directory; the relay opens it separately (WAL).
export const sqlite: KyselyDatabaseKind = {
  name: 'SQLite (better-sqlite3)',
  async setup() {
    const place = await sqliteOrdersDatabase('outboxkit-kysely', { dialect: () => createSqliteDialect(), database: (path) => openSqliteDatabase(path) });
    return kyselyOn(place, () => new SqliteDialect({ database: new Database(place.location) }), createPostgresDialect());
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
