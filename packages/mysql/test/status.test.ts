import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue } from '../src/index.js';
import { createTestDatabase, inTransaction, orderEvent, type TestDatabase } from './helpers.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

describe('status', () => {
  it('is empty on a fresh outbox', async () => {
    expect(await t.dialect.status(t.db)).toEqual({
      backlog: 0,
      oldestPendingAgeSeconds: null,
      shardOwners: [],
      quarantined: 0,
      parkedAggregates: 0,
    });
    expect(await t.dialect.countPending(t.db)).toBe(0);
  });

  it('reports backlog, oldest age, live owners, quarantined events and parked aggregates', async () => {
    const written = await inTransaction(t.pool, (conn) =>
      enqueue(
        conn,
        ['s-1', 's-1', 's-2', 's-3', 's-4', 's-4'].map((id) => orderEvent(id)),
        { dialect: t.dialect },
      ),
    );
    // The oldest row was created a minute ago (by the database clock).
    await t.pool.query(`UPDATE ${t.table('events')} SET created_at = UTC_TIMESTAMP(3) - INTERVAL 60 SECOND WHERE id = ?`, [written[0]!.id]);
    const byId = (aggregateId: string) => written.find((e) => e.aggregateId === aggregateId)!.id;
    await t.db.transaction(async (tx) => {
      await t.dialect.quarantine(tx, byId('s-2'), 'poison', 'parked');
      await t.dialect.quarantine(tx, byId('s-3'), 'poison', 'parked');
      await t.dialect.quarantine(tx, byId('s-4'), 'dead', 'dead-lettered');
    });
    await t.dialect.acquire(t.db, 'relay-b', [5, 6, 7], 30_000);
    await t.dialect.acquire(t.db, 'relay-a', [1, 2], 60_000);
    await t.dialect.acquire(t.db, 'relay-gone', [9], 60_000);
    await t.pool.query(`UPDATE ${t.table('leases')} SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE shard = 9`);

    const status = await t.dialect.status(t.db);
    expect(status.backlog).toBe(3);
    expect(status.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(60);
    expect(status.oldestPendingAgeSeconds).toBeLessThan(3600);
    expect(status.shardOwners.map(({ owner, shards }) => ({ owner, shards }))).toEqual([
      { owner: 'relay-a', shards: 2 },
      { owner: 'relay-b', shards: 3 },
    ]);
    const [a, b] = status.shardOwners;
    expect(a!.expiresInSeconds).toBeGreaterThan(30);
    expect(a!.expiresInSeconds).toBeLessThanOrEqual(60);
    expect(b!.expiresInSeconds).toBeGreaterThan(0);
    expect(b!.expiresInSeconds).toBeLessThanOrEqual(30);
    expect(status.quarantined).toBe(3);
    expect(status.parkedAggregates).toBe(2);
    expect(await t.dialect.countPending(t.db)).toBe(3);
  });
});
