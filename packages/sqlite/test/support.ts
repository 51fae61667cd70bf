import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll } from 'vitest';
import type { EventInput } from '@outboxkit/core';
import { createSqliteDialect, openSqliteDatabase, type SqliteDatabase } from '../src/index.js';

/**
 * A fresh temporary directory for the calling test file, removed after its last test, and a
 * function giving a new database file path in it. Every connection opened through the returned
 * helpers is closed before the directory is removed.
 */
export function useTempFiles() {
  const dir = mkdtempSync(join(tmpdir(), 'outboxkit-sqlite-'));
  const closers: (() => unknown)[] = [];
  let counter = 0;
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    rmSync(dir, { recursive: true, force: true });
  });

  const newPath = (name = 'outbox') => join(dir, `${name}-${++counter}.db`);

  /** The relay-side SqlDatabase on a new (or given) file. */
  const open = (path = newPath()): SqliteDatabase => {
    const db = openSqliteDatabase(path);
    closers.push(() => db.close());
    return db;
  };

  /** A plain better-sqlite3 connection, as an application would open it. */
  const openRaw = (path: string, options: BetterSqlite3.Options = {}): BetterSqlite3.Database => {
    const db = new BetterSqlite3(path, options);
    closers.push(() => db.open && db.close());
    return db;
  };

  /** A migrated file with its relay-side database and the dialect. */
  const migrated = async (options: Parameters<typeof createSqliteDialect>[0] = {}) => {
    const path = newPath();
    const db = open(path);
    const dialect = createSqliteDialect(options);
    await dialect.migrate(db);
    return { path, db, dialect };
  };

  return { dir, newPath, open, openRaw, migrated };
}

export function orderEvent(aggregateId: string, type = 'OrderPlaced', payload: Record<string, unknown> = { total: 5 }): EventInput {
  return { aggregateType: 'order', aggregateId, type, payload };
}

/** Waits (asynchronously) until the database clock is past `epochMs`, so a tiny ttl has expired. */
export async function untilDatabaseClockPasses(db: SqliteDatabase, epochMs: number): Promise<void> {
  for (;;) {
    const { rows } = await db.query<{ now: number }>("SELECT CAST(ROUND(unixepoch('subsec') * 1000) AS INTEGER) AS now");
    if (rows[0]!.now > epochMs) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
