import type { Dialect, EventInput, SqlDatabase } from '@outboxkit/core';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { serviceUrl, uniqueName } from '../../testkit/dist/index.js';
import { createMysqlDialect, createMysqlPool, mysqlDatabase, type MysqlDialectOptions } from '../src/index.js';

/** A database of its own for one test file, migrated, with the handles the tests need. */
export interface TestDatabase {
  /** The MySQL database name, passed to the dialect as `tables.schema`. */
  schema: string;
  pool: Pool;
  db: SqlDatabase;
  dialect: Dialect;
  /** `schema`.`table` for the test's own checks. */
  table(name: keyof Dialect['tables']['names']): string;
  drop(): Promise<void>;
}

export async function createTestDatabase(options: { migrate?: boolean; dialect?: Omit<MysqlDialectOptions, 'tables'> } = {}): Promise<TestDatabase> {
  const url = await serviceUrl('mysql');
  const pool = createMysqlPool(url, { connectionLimit: 12 });
  const schema = uniqueName('okmy');
  await pool.query(`CREATE DATABASE \`${schema}\``);
  const dialect = createMysqlDialect({ ...options.dialect, tables: { schema } });
  const db = mysqlDatabase(pool);
  if (options.migrate !== false) await dialect.migrate(db);
  return {
    schema,
    pool,
    db,
    dialect,
    table: (name) => `\`${schema}\`.\`${dialect.tables.names[name]}\``,
    async drop() {
      await pool.query(`DROP DATABASE IF EXISTS \`${schema}\``);
      await pool.end();
    },
  };
}

/** Runs `fn` on a connection with an open transaction and commits; rolls back when it throws. */
export async function inTransaction<T>(pool: Pool, fn: (connection: PoolConnection) => Promise<T>): Promise<T> {
  const connection = await pool.getConnection();
  try {
    await connection.beginTransaction();
    const result = await fn(connection);
    await connection.commit();
    return result;
  } catch (error) {
    await connection.rollback();
    throw error;
  } finally {
    connection.release();
  }
}

/** A minimal event for aggregate `id` of type `order`. */
export function orderEvent(aggregateId: string, type = 'OrderPlaced', payload: EventInput['payload'] = { aggregateId }): EventInput {
  return { aggregateType: 'order', aggregateId, type, payload };
}

/**
 * Waits until the server reports a transaction of this schema waiting for a lock, i.e. a
 * statement we started is blocked. A condition observed on the server, not a timing guess.
 * Only for statements of a transaction that has already written: MariaDB lists a transaction
 * whose first statement waits inside the optimizer (a locking primary-key read) late.
 */
export async function waitForLockWait(pool: Pool, schema: string): Promise<void> {
  for (;;) {
    const [rows] = await pool.query("SELECT COUNT(*) AS waiting FROM information_schema.INNODB_TRX WHERE trx_state = 'LOCK WAIT' AND trx_query LIKE ?", [
      `%${schema}%`,
    ]);
    if (Number((rows as { waiting: unknown }[])[0]?.waiting) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Runs a statement on the pool and returns its rows, for checks on the raw tables. */
export async function rows<T>(pool: Pool, sql: string, params: unknown[] = []): Promise<T[]> {
  const [result] = await pool.query(sql, params);
  return result as T[];
}
