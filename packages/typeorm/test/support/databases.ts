import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, EntitySchema, type DataSourceOptions, type EntitySchemaOptions } from 'typeorm';
import type { Dialect, SqlDatabase } from '@outboxkit/core';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { serviceUrl, uniqueName, withPostgresSchema } from '@outboxkit/testkit';

/** A business row: the conformance suite's rows and the plugin suite's orders. */
export interface OrderRow {
  id: string;
  total: number;
  status: string;
  deletedAt?: Date | null;
}

const orderColumns: EntitySchemaOptions<OrderRow>['columns'] = {
  id: { type: 'varchar', length: 64, primary: true },
  total: { type: 'int' },
  status: { type: 'varchar', length: 32, default: 'new' },
  // Date: each driver picks its own date-time column type.
  deletedAt: { type: Date, deleteDate: true, nullable: true },
};

/** The conformance suite's table: rows counted by key. */
export const ConformanceRow = new EntitySchema<OrderRow>({ name: 'ConformanceRow', tableName: 'conformance_rows', columns: orderColumns });
/** Orders with outbox mappers in the plugin suite. */
export const Order = new EntitySchema<OrderRow>({ name: 'Order', tableName: 'orders', columns: orderColumns });
/** Orders without mappers: writes to them are never checked. */
export const PlainOrder = new EntitySchema<OrderRow>({ name: 'PlainOrder', tableName: 'plain_orders', columns: orderColumns });

const ENTITIES = [ConformanceRow, Order, PlainOrder];

/**
 * One isolated database for one test file: the outbox tables migrated by the dialect (through
 * the relay's own pool), and an initialized DataSource on the same database for the business
 * tables (created by TypeORM's `synchronize`).
 */
export interface TypeormTestDatabase {
  readonly dataSource: DataSource;
  readonly dialect: Dialect;
  /** The relay's pool: a different connection from every TypeORM connection. */
  readonly relayDatabase: SqlDatabase;
  /** The DataSource options, for a second DataSource on the same database. */
  readonly options: DataSourceOptions;
  dispose(): Promise<void>;
}

export interface TypeormTarget {
  readonly name: string;
  setup(): Promise<TypeormTestDatabase>;
}

async function open(options: DataSourceOptions, dialect: Dialect, relayDatabase: SqlDatabase, drop: () => Promise<void>): Promise<TypeormTestDatabase> {
  await dialect.migrate(relayDatabase);
  const dataSource = await new DataSource({ ...options, entities: ENTITIES, synchronize: true, logging: false } as DataSourceOptions).initialize();
  return {
    dataSource,
    dialect,
    relayDatabase,
    options,
    async dispose() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await drop();
    },
  };
}

export const postgresTarget: TypeormTarget = {
  name: 'PostgreSQL (pg)',
  async setup() {
    const server = await serviceUrl('postgres');
    const { schema, drop } = await withPostgresSchema({ prefix: 'oktypeorm' });
    const relayDatabase = pgDatabase(createPgPool(server, { max: 4 }));
    return open({ type: 'postgres', url: server, schema, poolSize: 4 }, createPostgresDialect({ tables: { schema } }), relayDatabase, async () => {
      await relayDatabase.close();
      await drop();
    });
  },
};

export const mariadbTarget: TypeormTarget = {
  name: 'MariaDB (mysql2)',
  async setup() {
    const server = await serviceUrl('mysql');
    const database = uniqueName('oktypeorm');
    const relayDatabase = mysqlDatabase(createMysqlPool(server, { connectionLimit: 4 }));
    await relayDatabase.query(`CREATE DATABASE \`${database}\``);
    const url = new URL(server);
    url.pathname = `/${database}`;
    return open({ type: 'mariadb', url: url.toString(), poolSize: 4 }, createMysqlDialect({ tables: { schema: database } }), relayDatabase, async () => {
      await relayDatabase.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await relayDatabase.close();
    });
  },
};

export const sqliteTarget: TypeormTarget = {
  name: 'SQLite (better-sqlite3)',
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), 'outboxkit-typeorm-'));
    const path = join(dir, 'app.db');
    // The relay's connection migrates the file and switches it to WAL first.
    const relayDatabase = openSqliteDatabase(path);
    return open({ type: 'better-sqlite3', database: path }, createSqliteDialect(), relayDatabase, async () => {
      await relayDatabase.close();
      rmSync(dir, { recursive: true, force: true });
    });
  },
};
