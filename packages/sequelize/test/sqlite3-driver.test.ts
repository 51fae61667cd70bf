import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxError, OutboxTransactionRequiredError, writeEvents, type EventInput, type SqlDatabase } from '@outboxkit/core';
import { createSqliteDialect, openSqliteDatabase, sqlite3Executor } from '@outboxkit/sqlite';

// sqlite3Executor lives in @outboxkit/sqlite, whose package does not install node-sqlite3; the
// Sequelize package does, so its test is here. One temporary file for this test file.
const dir = mkdtempSync(join(tmpdir(), 'outboxkit-sqlite3-'));
const path = join(dir, 'app.db');
const dialect = createSqliteDialect();
let relayDatabase: SqlDatabase;
let db: sqlite3.Database;

const exec = (sql: string) => new Promise<void>((resolve, reject) => db.exec(sql, (error) => (error ? reject(error) : resolve())));
const event = (aggregateId: string, type = 'order.placed'): EventInput => ({ aggregateType: 'order', aggregateId, type, payload: { aggregateId } });
const allShards = Array.from({ length: 64 }, (_, i) => i);

beforeAll(async () => {
  relayDatabase = openSqliteDatabase(path);
  await dialect.migrate(relayDatabase);
  db = await new Promise<sqlite3.Database>((resolve, reject) => {
    const opened = new sqlite3.Database(path, (error) => (error ? reject(error) : resolve(opened)));
  });
});

afterAll(async () => {
  await new Promise<void>((resolve) => db.close(() => resolve()));
  await relayDatabase.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sqlite3Executor (node-sqlite3, the driver Sequelize uses)', () => {
  it("runs the dialect's write path inside the connection's transaction", async () => {
    const executor = sqlite3Executor(db);
    await exec('BEGIN IMMEDIATE');
    const written = await writeEvents(dialect, executor, [event('a'), event('a', 'order.paid'), event('b')], { transactionChecked: true });
    expect(written.map((e) => e.sequence)).toEqual([1, 2, 1]);
    // Another connection sees nothing before COMMIT.
    expect(await dialect.countPending(relayDatabase)).toBe(0);
    await exec('COMMIT');
    expect(await dialect.countPending(relayDatabase)).toBe(3);

    // The relay's statements give the same answers through either driver (WITH ... SELECT, writes, counts).
    const viaSqlite3 = await dialect.claim(executor, allShards, 10);
    const viaBetterSqlite3 = await dialect.claim(relayDatabase, allShards, 10);
    expect(viaSqlite3).toEqual(viaBetterSqlite3);
    expect(viaSqlite3.map((e) => [e.id, e.sequence])).toEqual(written.map((e) => [e.id, e.sequence]));
    expect(viaSqlite3[0]!.occurredAt).toEqual(written[0]!.occurredAt);
    expect(await dialect.countPending(executor)).toBe(3);
    expect(
      await dialect.markPublished(
        executor,
        written.map((e) => e.id),
        true,
      ),
    ).toBe(3);
    expect(await dialect.countPending(relayDatabase)).toBe(0);
  });

  it('leaves nothing behind when the transaction rolls back', async () => {
    await exec('BEGIN IMMEDIATE');
    await writeEvents(dialect, sqlite3Executor(db), event('c'), { transactionChecked: true });
    await exec('ROLLBACK');
    expect(await dialect.countPending(relayDatabase)).toBe(0);
  });

  it('cannot tell whether a transaction is open, so an unchecked write refuses', async () => {
    const executor = sqlite3Executor(db);
    expect(executor.inTransaction).toBeUndefined();
    await expect(writeEvents(dialect, executor, event('d'))).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
    expect(await dialect.countPending(relayDatabase)).toBe(0);
  });

  it('reports rows and change counts for every statement shape, converting values like better-sqlite3', async () => {
    const executor = sqlite3Executor(db);
    await executor.query('CREATE TABLE IF NOT EXISTS shapes (n INTEGER, at INTEGER, flag INTEGER)');
    expect(await executor.query('INSERT INTO shapes VALUES (?, ?, ?), (?, ?, ?)', [1, new Date(1000), true, 2n, null, false])).toEqual({
      rows: [],
      rowCount: 2,
    });
    expect(await executor.query('WITH x(n) AS (VALUES (3), (4), (5)) INSERT INTO shapes (n) SELECT n FROM x')).toEqual({ rows: [], rowCount: 3 });
    expect(await executor.query('WITH x AS (SELECT n FROM shapes WHERE n <= 2) SELECT n FROM x ORDER BY n')).toEqual({
      rows: [{ n: 1 }, { n: 2 }],
      rowCount: 2,
    });
    expect(await executor.query('WITH x AS (SELECT 1) SELECT n FROM shapes WHERE n > 100')).toEqual({ rows: [], rowCount: 0 });
    expect(await executor.query('SELECT n, at, flag FROM shapes WHERE n <= 2 ORDER BY n')).toEqual({
      rows: [
        { n: 1, at: 1000, flag: 1 },
        { n: 2, at: null, flag: 0 },
      ],
      rowCount: 2,
    });
    expect(await executor.query('UPDATE shapes SET flag = 1 WHERE n > 2 RETURNING n')).toMatchObject({ rowCount: 3 });
    expect(await executor.query('DELETE FROM shapes WHERE n > ?', [3])).toEqual({ rows: [], rowCount: 2 });
    await expect(executor.query('SELECT ?', [2n ** 60n])).rejects.toBeInstanceOf(OutboxError);
    await expect(executor.query('SELECT * FROM no_such_table')).rejects.toThrow(/no such table/);
  });
});
