import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutboxConfigError } from '@outboxkit/core';
import sqlite3 from 'sqlite3';
import { Sequelize, Transaction } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sequelizeInbox } from '../src/index.js';
import { postgresTarget, type TestDatabase } from './support.js';

// What every ORM's inbox must do runs in the ORM-adapter conformance suite of each database's
// test file; this file keeps what only sequelizeInbox has: its options and SQLite default.
describe('sequelizeInbox options', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await postgresTarget.setup();
  });
  afterAll(async () => {
    await db?.dispose();
  });

  it('passes transactionOptions to every transaction (PostgreSQL isolation level)', async () => {
    const inbox = sequelizeInbox(db.sequelize, { isolationLevel: Transaction.ISOLATION_LEVELS.SERIALIZABLE });
    const level = await inbox.transaction(async (transaction) => {
      const { rows } = await inbox.executor!(transaction).query<{ transaction_isolation: string }>('SHOW transaction_isolation');
      return rows[0]!.transaction_isolation;
    });
    expect(level).toBe('serializable');
  });

  it('refuses a value that is not a Sequelize instance, naming the option', () => {
    expect(() => sequelizeInbox({} as Sequelize)).toThrow(OutboxConfigError);
    expect(() => sequelizeInbox({} as Sequelize)).toThrow(/sequelize/);
  });

  it('on SQLite, defaults to IMMEDIATE transactions: the write lock is held from BEGIN, so overlapping deliveries queue instead of failing with SQLITE_BUSY', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outboxkit-sequelize-inbox-'));
    const path = join(dir, 'app.db');
    // Sequelize's own default (DEFERRED) on this instance: the adapter must choose IMMEDIATE itself.
    const sequelize = new Sequelize({ dialect: 'sqlite', storage: path, logging: false });
    // A second connection that gives up at once (no busy timeout) instead of waiting for a lock.
    const other = new sqlite3.Database(path);
    try {
      const exec = (sql: string) => new Promise<void>((resolve, reject) => other.exec(sql, (error) => (error ? reject(error) : resolve())));
      const tryWriteLock = async () => {
        try {
          await exec('BEGIN IMMEDIATE');
          await exec('ROLLBACK');
          return 'acquired';
        } catch (error) {
          return (error as { code?: string }).code ?? String(error);
        }
      };
      const inbox = sequelizeInbox(sequelize);
      expect(await inbox.transaction(async () => tryWriteLock())).toBe('SQLITE_BUSY');
      const deferred = sequelizeInbox(sequelize, { type: Transaction.TYPES.DEFERRED });
      expect(await deferred.transaction(async () => tryWriteLock())).toBe('acquired');
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
      await sequelize.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
