import Database from 'better-sqlite3';
import { count, eq } from 'drizzle-orm';
import { drizzle as drizzleSqlite, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { drizzle as drizzleMysql, type MySql2Database } from 'drizzle-orm/mysql2';
import { int, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { drizzle as drizzlePg, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { integer as pgInteger, pgTable, serial, text as pgText } from 'drizzle-orm/pg-core';
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Dialect, SqlDatabase } from '@outboxkit/core';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { mariadbOrdersDatabase, postgresOrdersDatabase, sqliteOrdersDatabase, uniqueName } from '@outboxkit/testkit';

/** The business table `orders` of each core, keyed by its unique `number`. */
export const pgOrders = pgTable('orders', { id: serial('id').primaryKey(), number: pgText('number').notNull().unique(), total: pgInteger('total').notNull() });
export const mysqlOrders = mysqlTable('orders', {
  id: int('id').autoincrement().primaryKey(),
  number: varchar('number', { length: 191 }).notNull().unique(),
  total: int('total').notNull(),
});
export const sqliteOrders = sqliteTable('orders', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  number: text('number').notNull().unique(),
  total: integer('total').notNull(),
});

/** One isolated database (a PostgreSQL schema, a MariaDB database or a SQLite file) with Drizzle on it. */
export interface DrizzleTestDatabase<Db> {
  readonly db: Db;
  /** The dialect matching the driver, migrated. */
  readonly dialect: Dialect;
  /** A dialect of another database, for the mismatch check. */
  readonly wrongDialect: Dialect;
  /** The relay's own pool on the same tables, apart from every Drizzle connection. */
  readonly database: SqlDatabase;
  /** Closes Drizzle's pool and the relay's, drops what setup created. */
  dispose(): Promise<void>;
}

export interface DrizzleDatabaseKind<Db> {
  readonly name: string;
  setup(): Promise<DrizzleTestDatabase<Db>>;
}

/** The outbox dialect and the relay's pool of each database, for testkit's isolated places. */
const postgresFactories = {
  dialect: (schema: string) => createPostgresDialect({ tables: { schema }, notify: { channel: uniqueName('okdrz') } }),
  database: (url: string) => pgDatabase(createPgPool(url, { max: 4 })),
};
const mariadbFactories = {
  dialect: (schema: string) => createMysqlDialect({ tables: { schema } }),
  database: (url: string) => mysqlDatabase(createMysqlPool(url, { connectionLimit: 4 })),
};
const sqliteFactories = { dialect: () => createSqliteDialect(), database: (path: string) => openSqliteDatabase(path) };

// A schema of its own on the shared server; Drizzle's pool has it as search_path.
export const postgresql: DrizzleDatabaseKind<NodePgDatabase> = {
  name: 'PostgreSQL (node-postgres)',
  async setup() {
    const place = await postgresOrdersDatabase('okdrz', postgresFactories);
    const pool = new pg.Pool({ connectionString: place.location, max: 4 });
    return {
      ...place,
      db: drizzlePg({ client: pool }),
      wrongDialect: createMysqlDialect(),
      async dispose() {
        await pool.end();
        await place.drop();
      },
    };
  },
};

// A database of its own on the shared server, dropped afterwards.
export const mariadb: DrizzleDatabaseKind<MySql2Database> = {
  name: 'MariaDB (mysql2)',
  async setup() {
    const place = await mariadbOrdersDatabase('okdrz', mariadbFactories);
    const pool = mysql.createPool({ uri: place.location, connectionLimit: 4 });
    return {
      ...place,
      db: drizzleMysql({ client: pool }),
      wrongDialect: createSqliteDialect(),
      async dispose() {
        await pool.end();
        await place.drop();
      },
    };
  },
};

/** The SQLite kind also hands out its connection, for the checks that look at it directly. */
export interface SqliteTestDatabase extends DrizzleTestDatabase<BetterSQLite3Database> {
  readonly connection: Database.Database;
}

// A file of its own in a temporary directory; the relay opens it separately (WAL).
export const sqlite: { readonly name: string; setup(): Promise<SqliteTestDatabase> } = {
  name: 'SQLite (better-sqlite3)',
  async setup() {
    const place = await sqliteOrdersDatabase('outboxkit-drizzle', sqliteFactories);
    const connection = new Database(place.location);
    return {
      ...place,
      db: drizzleSqlite({ client: connection }),
      connection,
      wrongDialect: createPostgresDialect(),
      async dispose() {
        connection.close();
        await place.drop();
      },
    };
  },
};

/** Business rows with `number = key` as `handle` (database or transaction) sees them. */
export const countOrders = {
  async pg(handle: Pick<NodePgDatabase, 'select'>, key: string): Promise<number> {
    const [row] = await handle.select({ n: count() }).from(pgOrders).where(eq(pgOrders.number, key));
    return row!.n;
  },
  async mysql(handle: Pick<MySql2Database, 'select'>, key: string): Promise<number> {
    const [row] = await handle.select({ n: count() }).from(mysqlOrders).where(eq(mysqlOrders.number, key));
    return row!.n;
  },
  sqlite(handle: Pick<BetterSQLite3Database, 'select'>, key: string): number {
    return handle.select({ n: count() }).from(sqliteOrders).where(eq(sqliteOrders.number, key)).get()!.n;
  },
};
