import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import mysql from 'mysql2/promise';
import pg from 'pg';
import type { Dialect, SqlDatabase } from '@outboxkit/core';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { serviceUrl, uniqueName, withPostgresSchema } from '@outboxkit/testkit';
import { loadTestClients, type TestPrismaClient } from './test-clients.js';

const clients = await loadTestClients();

/** The part of better-sqlite3 used here; typed by hand because its types are a devDependency of @outboxkit/sqlite only. */
type BetterSqlite3 = new (path: string) => { exec(sql: string): unknown; close(): void };

async function betterSqlite3(): Promise<BetterSqlite3> {
  const specifier: string = 'better-sqlite3';
  return ((await import(specifier)) as { default: BetterSqlite3 }).default;
}

/** One isolated database (schema, MariaDB database or file) with the outbox, inbox and business tables. */
export interface PrismaTestDatabase {
  /** A base (unextended) Prisma client on it. */
  readonly prisma: TestPrismaClient;
  /** The dialect matching the client, migrated. */
  readonly dialect: Dialect;
  /** A dialect of another database, for the mismatch check. */
  readonly wrongDialect: Dialect;
  /** A pool on the same tables through the dialect's own driver, for the relay and for looking from outside Prisma. */
  readonly database: SqlDatabase;
  /** The business table `orders`, qualified as raw SQL on this database must name it. */
  readonly ordersTable: string;
  /** The NOTIFY channel the dialect writes at commit (PostgreSQL only). */
  readonly notifyChannel?: string;
  /** What the driver reports for a duplicate key: the fields a dialect matches on. */
  readonly duplicateKey: { readonly errno?: number; readonly code?: string };
  /** Disconnects everything and drops what setup created. */
  dispose(): Promise<void>;
}

/**
 * Where a setup puts the outbox tables: the `outbox-relay` flags that name them, and a way to run
 * a SQL script on the database as one text through the plain driver (what `prisma migrate deploy`
 * does with a migration.sql).
 */
export interface OutboxTablesTarget {
  readonly dialect: Dialect;
  readonly database: SqlDatabase;
  /** `--database-url ... [--schema ...]` for `outbox-relay`. */
  readonly relayFlags: readonly string[];
  runScript(sql: string): Promise<void>;
}

/** How a setup creates the outbox tables; the default is the dialect's own `migrate`. */
export type CreateOutboxTables = (target: OutboxTablesTarget) => Promise<unknown>;

const migrateWithDialect: CreateOutboxTables = ({ dialect, database }) => dialect.migrate(database);

/** One database kind the Prisma tests run on. */
export interface PrismaDatabaseKind {
  readonly name: string;
  setup(createOutboxTables?: CreateOutboxTables): Promise<PrismaTestDatabase>;
}

/** The business tables of test/schemas/*.prisma, as each database spells them (`prisma migrate` cannot run here). */
const BUSINESS_TABLES = {
  postgresql: (schema: string) => [
    `CREATE TABLE "${schema}".orders (id serial PRIMARY KEY, number text NOT NULL UNIQUE, total integer NOT NULL)`,
    `CREATE TABLE "${schema}".order_lines (id serial PRIMARY KEY, order_id integer NOT NULL REFERENCES "${schema}".orders(id) ON DELETE CASCADE, sku text NOT NULL, quantity integer NOT NULL)`,
  ],
  mysql: (database: string) => [
    `CREATE TABLE \`${database}\`.orders (id INT AUTO_INCREMENT PRIMARY KEY, number VARCHAR(191) NOT NULL UNIQUE, total INT NOT NULL) ENGINE=InnoDB`,
    `CREATE TABLE \`${database}\`.order_lines (id INT AUTO_INCREMENT PRIMARY KEY, order_id INT NOT NULL, sku VARCHAR(191) NOT NULL, quantity INT NOT NULL, ` +
      `FOREIGN KEY (order_id) REFERENCES \`${database}\`.orders(id) ON DELETE CASCADE) ENGINE=InnoDB`,
  ],
  sqlite: () => [
    'CREATE TABLE orders (id INTEGER PRIMARY KEY AUTOINCREMENT, number TEXT NOT NULL UNIQUE, total INTEGER NOT NULL)',
    'CREATE TABLE order_lines (id INTEGER PRIMARY KEY AUTOINCREMENT, order_id INTEGER NOT NULL REFERENCES orders(id) ON DELETE CASCADE, sku TEXT NOT NULL, quantity INTEGER NOT NULL)',
  ],
} as const;

// One schema per setup: the outbox tables from the dialect's migrations, the business tables
// from test/schemas/postgresql.prisma written as SQL.
export const postgresql: PrismaDatabaseKind = {
  name: 'PostgreSQL',
  async setup(createOutboxTables = migrateWithDialect) {
    const serverUrl = await serviceUrl('postgres');
    const schema = await withPostgresSchema({ prefix: 'okprisma' });
    const database = pgDatabase(createPgPool(schema.url, { max: 4 }));
    const notifyChannel = uniqueName('okprisma');
    const dialect = createPostgresDialect({ tables: { schema: schema.schema }, notify: { channel: notifyChannel } });
    await createOutboxTables({
      dialect,
      database,
      relayFlags: ['--database-url', serverUrl, '--schema', schema.schema],
      runScript: async (sql) => {
        // Without parameters pg sends the text as one simple query: every statement in it runs.
        const client = new pg.Client({ connectionString: serverUrl });
        await client.connect();
        try {
          await client.query(sql);
        } finally {
          await client.end();
        }
      },
    });
    for (const statement of BUSINESS_TABLES.postgresql(schema.schema)) await database.query(statement);
    const prisma = new clients.postgresql({ adapter: new PrismaPg({ connectionString: schema.url }, { schema: schema.schema }) });
    return {
      prisma: prisma as unknown as TestPrismaClient,
      dialect,
      wrongDialect: createMysqlDialect(),
      database,
      ordersTable: `"${schema.schema}".orders`,
      notifyChannel,
      duplicateKey: { code: '23505' },
      async dispose() {
        await prisma.$disconnect();
        await database.close();
        await schema.drop();
      },
    };
  },
};

// One MariaDB database per setup, dropped afterwards.
export const mariadb: PrismaDatabaseKind = {
  name: 'MariaDB',
  async setup(createOutboxTables = migrateWithDialect) {
    const serverUrl = await serviceUrl('mysql');
    const name = uniqueName('okprisma');
    const database = mysqlDatabase(createMysqlPool(serverUrl, { connectionLimit: 4 }));
    await database.query(`CREATE DATABASE \`${name}\``);
    const dialect = createMysqlDialect({ tables: { schema: name } });
    const databaseUrl = new URL(serverUrl);
    databaseUrl.pathname = `/${name}`;
    await createOutboxTables({
      dialect,
      database,
      relayFlags: ['--database-url', databaseUrl.toString(), '--schema', name],
      runScript: async (sql) => {
        const connection = await mysql.createConnection({ uri: databaseUrl.toString(), multipleStatements: true });
        try {
          await connection.query(sql);
        } finally {
          await connection.end();
        }
      },
    });
    for (const statement of BUSINESS_TABLES.mysql(name)) await database.query(statement);
    const url = new URL(serverUrl);
    const prisma = new clients.mysql({
      adapter: new PrismaMariaDb({
        host: url.hostname,
        port: Number(url.port || 3306),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: name,
        connectionLimit: 4,
      }),
    });
    return {
      prisma: prisma as unknown as TestPrismaClient,
      dialect,
      wrongDialect: createSqliteDialect(),
      database,
      ordersTable: `\`${name}\`.orders`,
      duplicateKey: { errno: 1062 },
      async dispose() {
        await prisma.$disconnect();
        await database.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await database.close();
      },
    };
  },
};

// One database file in a temporary directory per setup, deleted afterwards.
export const sqlite: PrismaDatabaseKind = {
  name: 'SQLite',
  async setup(createOutboxTables = migrateWithDialect) {
    const dir = mkdtempSync(join(tmpdir(), 'outboxkit-prisma-'));
    const path = join(dir, 'shop.db');
    const database = openSqliteDatabase(path);
    const dialect = createSqliteDialect();
    await createOutboxTables({
      dialect,
      database,
      relayFlags: ['--database-url', `sqlite:${path}`],
      runScript: async (sql) => {
        const connection = new (await betterSqlite3())(path);
        try {
          connection.exec(sql);
        } finally {
          connection.close();
        }
      },
    });
    for (const statement of BUSINESS_TABLES.sqlite()) await database.query(statement);
    const prisma = new clients.sqlite({ adapter: new PrismaBetterSqlite3({ url: `file:${path}` }) });
    return {
      prisma: prisma as unknown as TestPrismaClient,
      dialect,
      wrongDialect: createPostgresDialect(),
      database,
      ordersTable: 'orders',
      duplicateKey: { code: 'SQLITE_CONSTRAINT_UNIQUE' },
      async dispose() {
        await prisma.$disconnect();
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
