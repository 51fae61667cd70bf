import { join } from 'node:path';
import type { Dialect, SqlDatabase } from '@outboxkit/core';
import { withPostgresSchema } from './pg-schema.js';
import { serviceUrl, uniqueName } from './services.js';
import { removeTempDir, tempDirRemovedOnExit } from './servers/exit-guard.js';

/**
 * One isolated place on a database server (a PostgreSQL schema, a MariaDB database, a SQLite
 * file) with the outbox and inbox tables migrated and one business table, `orders`
 * (`id` generated, `number` unique text, `total` integer), for an ORM plugin's tests to put
 * their ORM on.
 */
export interface OrdersDatabase {
  /** The outbox dialect for this place, migrated. */
  readonly dialect: Dialect;
  /** The relay's own pool on it, apart from every ORM connection. */
  readonly database: SqlDatabase;
  /**
   * Where the ORM connects: a PostgreSQL URL with the schema as `search_path`, a MariaDB URL
   * whose path names the database, or a SQLite file path.
   */
  readonly location: string;
  /** Closes the relay's pool and removes the place. Close the ORM first. */
  drop(): Promise<void>;
}

/**
 * How to make the dialect and the relay's pool: the caller passes its dialect package's
 * factories, so testkit depends on none of the dialect packages (which depend on it for their tests).
 */
export interface OrdersDatabaseFactories {
  /** The dialect for the place's name (schema, database; unused for SQLite). */
  dialect(name: string): Dialect;
  /** The relay's pool on `location` (`OrdersDatabase.location`; for MariaDB, the server URL). */
  database(location: string): SqlDatabase;
}

/** `CREATE TABLE orders` as each database spells it. */
const ORDERS = {
  postgres: 'CREATE TABLE orders (id serial PRIMARY KEY, number text NOT NULL UNIQUE, total integer NOT NULL)',
  mysql: (database: string) =>
    `CREATE TABLE \`${database}\`.orders (id INT AUTO_INCREMENT PRIMARY KEY, number VARCHAR(191) NOT NULL UNIQUE, total INT NOT NULL) ENGINE=InnoDB`,
  sqlite: 'CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL UNIQUE, total INTEGER NOT NULL)',
} as const;

async function migrated(dialect: Dialect, database: SqlDatabase, ordersDdl: string): Promise<void> {
  await dialect.migrate(database);
  await database.query(ordersDdl);
}

/**
 * A schema of its own on the shared PostgreSQL server, dropped by `drop`.
 *
 * @example
 * const place = await postgresOrdersDatabase('okdrz', {
 *   dialect: (schema) => createPostgresDialect({ tables: { schema } }),
 *   database: (url) => pgDatabase(createPgPool(url, { max: 4 })),
 * });
 */
export async function postgresOrdersDatabase(prefix: string, make: OrdersDatabaseFactories): Promise<OrdersDatabase> {
  const schema = await withPostgresSchema({ prefix });
  const database = make.database(schema.url);
  const dialect = make.dialect(schema.schema);
  await migrated(dialect, database, ORDERS.postgres);
  return {
    dialect,
    database,
    location: schema.url,
    async drop() {
      await database.close();
      await schema.drop();
    },
  };
}

/** A database of its own on the shared MariaDB server, dropped by `drop`. */
export async function mariadbOrdersDatabase(prefix: string, make: OrdersDatabaseFactories): Promise<OrdersDatabase> {
  const serverUrl = await serviceUrl('mysql');
  const name = uniqueName(prefix);
  const database = make.database(serverUrl);
  await database.query(`CREATE DATABASE \`${name}\``);
  const dialect = make.dialect(name);
  await migrated(dialect, database, ORDERS.mysql(name));
  const location = new URL(serverUrl);
  location.pathname = `/${name}`;
  return {
    dialect,
    database,
    location: location.toString(),
    async drop() {
      await database.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await database.close();
    },
  };
}

/** A file of its own in a temporary directory, deleted by `drop`. Open the relay's pool first: it switches the file to WAL. */
export async function sqliteOrdersDatabase(prefix: string, make: OrdersDatabaseFactories): Promise<OrdersDatabase> {
  const dir = tempDirRemovedOnExit(`${prefix}-`);
  const path = join(dir, 'shop.db');
  const database = make.database(path);
  const dialect = make.dialect(path);
  await migrated(dialect, database, ORDERS.sqlite);
  return {
    dialect,
    database,
    location: path,
    async drop() {
      await database.close();
      removeTempDir(dir);
    },
  };
}
