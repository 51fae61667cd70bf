import { describe, expect, it } from 'vitest';
import { OutboxConfigError, OutboxError, type SqlExecutor } from '@outboxkit/core';
import { DATABASE_BUSY_CODE, enqueue, executorInTransaction, openSqliteDatabase, sqliteExecutor, sqlitePathFromUrl } from '../src/index.js';
import { orderEvent, useTempFiles } from './support.js';

const files = useTempFiles();

describe('sqlitePathFromUrl', () => {
  it.each([
    ['./data/app.db', './data/app.db'],
    ['/var/lib/app.db', '/var/lib/app.db'],
    [':memory:', ':memory:'],
    ['sqlite:app.db', 'app.db'],
    ['sqlite:./data/app.db', './data/app.db'],
    ['sqlite:///var/lib/app.db', '/var/lib/app.db'],
    ['sqlite:///var/lib/my%20app.db', '/var/lib/my app.db'],
    ['SQLITE:///var/lib/app.db', '/var/lib/app.db'],
    ['file:./dev.db', './dev.db'],
    ['file:///var/lib/app.db', '/var/lib/app.db'],
    ['file://localhost/var/lib/app.db', '/var/lib/app.db'],
  ])('%s -> %s', (url, path) => {
    expect(sqlitePathFromUrl(url)).toBe(path);
  });

  it.each([
    ['', /expected a file path/],
    ['sqlite:', /names no file/],
    ['sqlite://', /names no file/],
    ['sqlite://db.example.com/app.db', /"db.example.com" is a host/],
    ['file:./dev.db?connection_limit=1', /query parameters/],
  ])('rejects %j', (url, message) => {
    expect(() => sqlitePathFromUrl(url)).toThrow(OutboxConfigError);
    expect(() => sqlitePathFromUrl(url)).toThrow(message);
  });
});

describe('openSqliteDatabase', () => {
  it('opens a file URL in WAL mode with synchronous=NORMAL and no blocking busy timeout', async () => {
    const path = files.newPath();
    const db = openSqliteDatabase(`sqlite://${path}`);
    try {
      expect(db.path).toBe(path);
      const pragma = async (name: string) => Object.values((await db.query(`PRAGMA ${name}`)).rows[0]!)[0];
      expect(await pragma('journal_mode')).toBe('wal');
      expect(await pragma('synchronous')).toBe(1); // NORMAL
      expect(await pragma('busy_timeout')).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('refuses unknown database options, naming them', () => {
    let error: unknown;
    try {
      openSqliteDatabase(files.newPath(), { maxBusyWait: 5 } as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OutboxConfigError);
    expect((error as OutboxConfigError).option).toBe('maxBusyWait');
  });

  it.each([-1, 1.5, Number.NaN, 600_001])('rejects maxBusyWaitMs %s', (maxBusyWaitMs) => {
    let error: unknown;
    try {
      openSqliteDatabase(files.newPath(), { maxBusyWaitMs });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OutboxConfigError);
    expect((error as OutboxConfigError).option).toBe('maxBusyWaitMs');
  });
});

describe('waiting for a writer in the same process', () => {
  /**
   * The writer holds its write transaction open across awaits, as ORMs do, and commits from a
   * timer. If the relay side waited by blocking the thread (SQLite's busy_timeout), the timer
   * could not fire and the writer could never commit.
   */
  function holdWriteLockUntilTicks(path: string, ticksBeforeCommit: number) {
    const writer = files.openRaw(path);
    writer.exec('BEGIN IMMEDIATE');
    const log: string[] = [];
    let ticks = 0;
    const ticker = setInterval(() => {
      ticks++;
      if (ticks === ticksBeforeCommit) {
        log.push('writer commits');
        writer.exec('COMMIT');
      }
    }, 1);
    return { writer, log, ticks: () => ticks, stop: () => clearInterval(ticker) };
  }

  it('a relay transaction waits without blocking the event loop and runs after the writer commits', async () => {
    const { path, db, dialect } = await files.migrated();
    const holder = holdWriteLockUntilTicks(path, 5);
    await enqueue(holder.writer, orderEvent('a')); // an async write inside the open transaction

    const relayTransaction = db.transaction(async (tx) => {
      holder.log.push('relay transaction runs');
      return dialect.countPending(tx);
    });
    holder.log.push('relay transaction requested');
    const pending = await relayTransaction;
    holder.stop();

    expect(holder.log).toEqual(['relay transaction requested', 'writer commits', 'relay transaction runs']);
    expect(holder.ticks()).toBeGreaterThanOrEqual(5);
    expect(pending).toBe(1);
  });

  it('a writing statement outside a transaction (acquire) waits the same way', async () => {
    const { path, db, dialect } = await files.migrated();
    const holder = holdWriteLockUntilTicks(path, 3);

    const leases = await dialect.acquire(db, 'relay-1', [0, 1], 60_000);
    holder.stop();

    expect(holder.log).toEqual(['writer commits']);
    expect(leases).toEqual([
      { shard: 0, epoch: 1 },
      { shard: 1, epoch: 1 },
    ]);
  });

  it('gives up after maxBusyWaitMs with an OutboxError naming the cause, and leaves no transaction open', async () => {
    const { path } = await files.migrated();
    const impatient = openSqliteDatabase(path, { maxBusyWaitMs: 30 });
    const writer = files.openRaw(path);
    writer.exec('BEGIN IMMEDIATE');
    let callbackRan = false;

    let error: unknown;
    try {
      await impatient.transaction(async () => {
        callbackRan = true;
      });
    } catch (caught) {
      error = caught;
    }
    writer.exec('COMMIT');

    expect(error).toBeInstanceOf(OutboxError);
    expect((error as OutboxError).code).toBe(DATABASE_BUSY_CODE);
    expect((error as Error).message).toMatch(/stayed locked by another connection for more than 30 ms \(SQLITE_BUSY\).*maxBusyWaitMs/);
    expect(((error as Error).cause as { code?: string }).code).toBe('SQLITE_BUSY');
    expect(callbackRan).toBe(false);
    expect(await impatient.transaction(async (tx) => (await tx.query('SELECT 1 AS one')).rows)).toEqual([{ one: 1 }]);
    await impatient.close();
  });
});

describe('one SqliteDatabase used concurrently', () => {
  it('runs concurrent transactions one after another instead of interleaving BEGINs', async () => {
    const { db } = await files.migrated();
    await db.query('CREATE TABLE counter (n INTEGER NOT NULL)');
    await db.query('INSERT INTO counter (n) VALUES (0)');
    const log: string[] = [];

    await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        db.transaction(async (tx) => {
          log.push(`begin ${i}`);
          const { rows } = await tx.query<{ n: number }>('SELECT n FROM counter');
          await new Promise((resolve) => setImmediate(resolve)); // let the others try to start
          await tx.query('UPDATE counter SET n = ?', [rows[0]!.n + 1]);
          log.push(`end ${i}`);
        }),
      ),
    );

    expect((await db.query<{ n: number }>('SELECT n FROM counter')).rows[0]!.n).toBe(8);
    expect(log).toEqual(Array.from({ length: 8 }, (_, i) => [`begin ${i}`, `end ${i}`]).flat());
  });

  it('refuses db.query() inside its own transaction (it would deadlock) and rolls the transaction back', async () => {
    const { db, dialect } = await files.migrated();
    let error: unknown;
    try {
      await db.transaction(async (tx) => {
        await enqueue(tx, orderEvent('a'));
        await db.query('SELECT 1');
      });
    } catch (caught) {
      error = caught;
    }
    expect((error as OutboxError).code).toBe('OUTBOX_SQLITE_REENTRANT');
    expect((error as Error).message).toMatch(/Use the `tx` executor/);
    expect(await dialect.countPending(db)).toBe(0);
  });

  it('still refuses it after earlier transactions ended, and in overlapping transactions of two databases', async () => {
    // The reentry check is switched off between transactions (it costs every promise a hook)
    // and on again by the next one; overlapping transactions keep it on until the last ends.
    const first = await files.migrated();
    const second = await files.migrated();
    await first.db.transaction(async (tx) => enqueue(tx, orderEvent('before')));
    // Not refused, the query would wait for the transaction it runs in: reported after a second.
    const reentry = (db: typeof first.db) =>
      Promise.race([
        db.query('SELECT 1').then(
          () => 'no error',
          (error: OutboxError) => error.code,
        ),
        new Promise((resolve) => setTimeout(resolve, 1000, 'queued behind its own transaction')),
      ]);
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const outer = first.db.transaction(async () => {
      await held;
      return reentry(first.db);
    });
    const inner = await second.db.transaction(async () => reentry(second.db));
    release();
    expect([inner, await outer]).toEqual(['OUTBOX_SQLITE_REENTRANT', 'OUTBOX_SQLITE_REENTRANT']);
    expect(await first.db.transaction(async () => reentry(first.db))).toBe('OUTBOX_SQLITE_REENTRANT');
    // Outside any transaction the same call is an ordinary query.
    expect((await first.db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});

describe('inTransaction', () => {
  it('asks a better-sqlite3 connection directly', async () => {
    const path = files.newPath();
    const raw = files.openRaw(path);
    const exec = sqliteExecutor(raw);
    expect(await executorInTransaction(exec)).toBe(false);
    raw.exec('BEGIN');
    expect(await executorInTransaction(exec)).toBe(true);
    raw.exec('ROLLBACK');
    expect(await executorInTransaction(exec)).toBe(false);
  });

  it('trusts the inTransaction property of other executors, and otherwise answers false', async () => {
    const query: SqlExecutor['query'] = async () => ({ rows: [], rowCount: 0 });
    expect(await executorInTransaction({ query })).toBe(false);
    expect(await executorInTransaction(Object.assign({ query }, { inTransaction: true }))).toBe(true);
    expect(await executorInTransaction(Object.assign({ query }, { inTransaction: false }))).toBe(false);
  });
});
