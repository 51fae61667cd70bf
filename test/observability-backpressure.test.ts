import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBacklogGuard, OutboxBacklogFullError, OutboxConfigError, writeEvents, type Dialect, type EventInput, type SqlExecutor } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import { createTestDatabase, type TestDatabase } from './support/databases.js';

// The producer-side guard on PostgreSQL: while the broker is down the outbox table is the
// buffer, and maxBacklog bounds it by refusing writes (the business transaction rolls back).

let db: TestDatabase;
let target: DatabaseTarget;
let counts = 0;
/** The real dialect, with its countPending calls counted (to see the cache at work). */
let dialect: Dialect;

const event = (i: number): EventInput => ({ aggregateType: 'order', aggregateId: `o-${i}`, type: 'OrderPlaced', payload: { i } });

async function pending(): Promise<number> {
  return target.dialect.countPending(target.database);
}

async function clear(): Promise<void> {
  await target.database.query(`DELETE FROM "${db.schema}".outbox_events`);
}

beforeAll(async () => {
  db = await createTestDatabase('PostgreSQL');
  target = await openDatabase(db.url, { tables: { schema: db.schema! } });
  await target.dialect.migrate(target.database);
  dialect = Object.create(target.dialect, {
    countPending: {
      value: (exec: SqlExecutor) => {
        counts++;
        return target.dialect.countPending(exec);
      },
    },
  }) as Dialect;
});

afterAll(async () => {
  await target?.database.close();
  await db?.dispose();
});

describe('createBacklogGuard on PostgreSQL', () => {
  it('refuses a write at the limit with OUTBOX_BACKLOG_FULL, naming backlog and limit, and writes nothing', async () => {
    await clear();
    const backlogGuard = createBacklogGuard({ dialect, maxBacklog: 3, checkIntervalMs: 0 });
    for (let i = 0; i < 3; i++) await target.database.transaction((tx) => writeEvents(dialect, tx, event(i), { backlogGuard }));
    const refused = target.database.transaction((tx) => writeEvents(dialect, tx, event(3), { backlogGuard }));
    const error = await refused.then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OutboxBacklogFullError);
    const full = error as OutboxBacklogFullError;
    expect(full.code).toBe('OUTBOX_BACKLOG_FULL');
    expect(full.backlog).toBe(3);
    expect(full.maxBacklog).toBe(3);
    expect(full.message).toMatch(/3 pending event\(s\).*maxBacklog is 3/);
    expect(await pending()).toBe(3);
    console.log(`backlog guard: ${full.message}`);
  });

  it('counts at most once per checkIntervalMs (writes in between use the cached count)', async () => {
    await clear();
    counts = 0;
    const backlogGuard = createBacklogGuard({ dialect, maxBacklog: 1000, checkIntervalMs: 60_000 });
    for (let i = 0; i < 20; i++) await target.database.transaction((tx) => writeEvents(dialect, tx, event(i), { backlogGuard }));
    expect(counts).toBe(1);
    expect(backlogGuard.lastCount).toBe(0);
    expect(await pending()).toBe(20);
  });

  it('concurrent writers share one count while the cache is stale', async () => {
    await clear();
    counts = 0;
    const backlogGuard = createBacklogGuard({ dialect, maxBacklog: 1000, checkIntervalMs: 60_000 });
    await Promise.all(Array.from({ length: 8 }, (_, i) => target.database.transaction((tx) => writeEvents(dialect, tx, event(i), { backlogGuard }))));
    expect(counts).toBe(1);
    expect(await pending()).toBe(8);
  });

  it('accepts writes again once the backlog drains below the limit (after the interval)', async () => {
    await clear();
    let now = 1_000_000;
    const backlogGuard = createBacklogGuard({ dialect, maxBacklog: 2, checkIntervalMs: 1000, now: () => now });
    for (let i = 0; i < 2; i++) {
      await target.database.transaction((tx) => writeEvents(dialect, tx, event(i), { backlogGuard }));
      now += 1000;
    }
    await expect(target.database.transaction((tx) => writeEvents(dialect, tx, event(9), { backlogGuard }))).rejects.toBeInstanceOf(OutboxBacklogFullError);
    await clear(); // what a relay catching up does
    // Within the interval the cached "full" count still holds...
    await expect(target.database.transaction((tx) => writeEvents(dialect, tx, event(9), { backlogGuard }))).rejects.toBeInstanceOf(OutboxBacklogFullError);
    // ...and after it the guard re-counts and lets the write through.
    now += 1000;
    const [written] = await target.database.transaction((tx) => writeEvents(dialect, tx, event(9), { backlogGuard }));
    expect(written!.aggregateId).toBe('o-9');
    expect(await pending()).toBe(1);
  });

  it('rejects bad options with a config error naming the option', () => {
    expect(() => createBacklogGuard({ dialect, maxBacklog: 0 })).toThrow(OutboxConfigError);
    expect(() => createBacklogGuard({ dialect, maxBacklog: 0 })).toThrow(/maxBacklog: must be an integer from 1/);
    expect(() => createBacklogGuard({ dialect, maxBacklog: 10, checkIntervalMs: -1 })).toThrow(/checkIntervalMs/);
    expect(() => createBacklogGuard({ dialect: undefined as unknown as Dialect, maxBacklog: 10 })).toThrow(/dialect: is required/);
  });
});
