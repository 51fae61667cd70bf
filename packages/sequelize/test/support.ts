import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Sequelize, Transaction, type Options } from 'sequelize';
import type { Dialect, SqlDatabase } from '@outboxkit/core';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { serviceUrl, uniqueName, withPostgresSchema } from '@outboxkit/testkit';

/**
 * One isolated database for one test file: the outbox tables migrated by the dialect (through
 * the relay's own pool), and a Sequelize instance on the same database for the business tables.
 */
export interface TestDatabase {
  readonly name: string;
  readonly sequelize: Sequelize;
  readonly dialect: Dialect;
  /** The relay's pool: a different connection from every Sequelize connection. */
  readonly relayDatabase: SqlDatabase;
  /** Schema for Sequelize models where the database needs one (PostgreSQL), else undefined. */
  readonly modelSchema: string | undefined;
  dispose(): Promise<void>;
}

export interface TestTarget {
  readonly name: string;
  setup(): Promise<TestDatabase>;
}

const quiet: Options = { logging: false };

export const postgresTarget: TestTarget = {
  name: 'PostgreSQL (pg)',
  async setup() {
    const server = await serviceUrl('postgres');
    const { schema, drop } = await withPostgresSchema({ prefix: 'okseq' });
    const pool = createPgPool(server, { max: 4 });
    const relayDatabase = pgDatabase(pool);
    const dialect = createPostgresDialect({ tables: { schema } });
    await dialect.migrate(relayDatabase);
    const sequelize = new Sequelize(server, { ...quiet, dialect: 'postgres' });
    return {
      name: this.name,
      sequelize,
      dialect,
      relayDatabase,
      modelSchema: schema,
      async dispose() {
        await sequelize.close();
        await relayDatabase.close();
        await drop();
      },
    };
  },
};

export const mysqlTarget: TestTarget = {
  name: 'MariaDB (mysql2)',
  async setup() {
    const server = await serviceUrl('mysql');
    const database = uniqueName('okseq');
    const pool = createMysqlPool(server, { connectionLimit: 4 });
    const relayDatabase = mysqlDatabase(pool);
    await relayDatabase.query(`CREATE DATABASE \`${database}\``);
    const dialect = createMysqlDialect({ tables: { schema: database } });
    await dialect.migrate(relayDatabase);
    const url = new URL(server);
    url.pathname = `/${database}`;
    const sequelize = new Sequelize(url.toString(), { ...quiet, dialect: 'mysql' });
    return {
      name: this.name,
      sequelize,
      dialect,
      relayDatabase,
      modelSchema: undefined,
      async dispose() {
        await sequelize.close();
        await relayDatabase.query(`DROP DATABASE IF EXISTS \`${database}\``);
        await relayDatabase.close();
      },
    };
  },
};

export const sqliteTarget: TestTarget = {
  name: 'SQLite (sqlite3)',
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), 'outboxkit-sequelize-'));
    const path = join(dir, 'app.db');
    // The relay's connection (better-sqlite3) migrates the file and switches it to WAL first.
    const relayDatabase = openSqliteDatabase(path);
    const dialect = createSqliteDialect();
    await dialect.migrate(relayDatabase);
    // IMMEDIATE takes the write lock at BEGIN, so a transaction that reads before it writes
    // cannot meet SQLITE_BUSY_SNAPSHOT when the relay committed in between.
    const sequelize = new Sequelize({ ...quiet, dialect: 'sqlite', storage: path, transactionType: Transaction.TYPES.IMMEDIATE });
    return {
      name: this.name,
      sequelize,
      dialect,
      relayDatabase,
      modelSchema: undefined,
      async dispose() {
        await sequelize.close();
        await relayDatabase.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
