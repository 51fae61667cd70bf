import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SqlExecutor } from '@outboxkit/core';
import { lostShards } from '@outboxkit/testkit';
import { pgExecutor } from '../src/index.js';
import { begin, commit, createTestSchema, waitFor, type TestSchema } from './helpers.js';

describe('leases: acquire, renew, release, leave, heartbeat, fence', () => {
  let t: TestSchema;
  let exec: SqlExecutor;
  const leaseRow = async (shard: number) =>
    (await t.pool.query(`SELECT owner, epoch::int AS epoch, expires_at > now() AS live FROM ${t.table('leases')} WHERE shard = $1`, [shard])).rows[0];
  const expired = async (shard: number) =>
    (await t.pool.query(`SELECT expires_at < now() AS expired FROM ${t.table('leases')} WHERE shard = $1`, [shard])).rows[0].expired === true;

  beforeAll(async () => {
    t = await createTestSchema();
    exec = pgExecutor(t.pool);
  });
  beforeEach(async () => {
    await t.reset();
  });
  afterAll(async () => {
    await t.drop();
  });

  it('acquire takes free shards with epoch + 1, keeps the epoch when re-acquired, and skips live leases of others', async () => {
    expect(await t.dialect.acquire(exec, 'r1', [5, 2, 9], 60_000)).toEqual([
      { shard: 2, epoch: 1 },
      { shard: 5, epoch: 1 },
      { shard: 9, epoch: 1 },
    ]);
    expect(await t.dialect.acquire(exec, 'r1', [2, 5, 9], 60_000)).toEqual([
      { shard: 2, epoch: 1 },
      { shard: 5, epoch: 1 },
      { shard: 9, epoch: 1 },
    ]);
    expect(await t.dialect.acquire(exec, 'r2', [2, 3], 60_000)).toEqual([{ shard: 3, epoch: 1 }]);
    expect(await leaseRow(2)).toEqual({ owner: 'r1', epoch: 1, live: true });
    expect(await t.dialect.acquire(exec, 'r1', [], 60_000)).toEqual([]);
  });

  it('acquire takes over an expired lease and bumps the epoch', async () => {
    await t.dialect.acquire(exec, 'r1', [7], 1);
    await waitFor('the 1 ms lease to expire', () => expired(7));
    expect(await t.dialect.acquire(exec, 'r2', [7], 60_000)).toEqual([{ shard: 7, epoch: 2 }]);
    expect(await leaseRow(7)).toEqual({ owner: 'r2', epoch: 2, live: true });
  });

  it('renew extends only leases held with the same epoch', async () => {
    await t.dialect.acquire(exec, 'r1', [10, 11], 1);
    await waitFor('the leases to expire', () => expired(11));
    expect(
      await t.dialect.renew(
        exec,
        'r1',
        [
          { shard: 10, epoch: 1 },
          { shard: 11, epoch: 0 },
        ],
        60_000,
      ),
    ).toEqual([{ shard: 10, epoch: 1 }]);
    expect(await leaseRow(10)).toEqual({ owner: 'r1', epoch: 1, live: true });
    expect(await t.dialect.renew(exec, 'r2', [{ shard: 10, epoch: 1 }], 60_000)).toEqual([]);
    expect(await t.dialect.renew(exec, 'r1', [], 60_000)).toEqual([]);
  });

  it('release frees shards at once for another relay; leave releases everything and unregisters', async () => {
    await t.dialect.heartbeat(exec, 'r1', 60_000);
    await t.dialect.acquire(exec, 'r1', [20, 21, 22], 60_000);
    await t.dialect.release(exec, 'r1', [20]);
    await t.dialect.release(exec, 'r2', [21]); // not r2's: no effect
    expect(await leaseRow(20)).toEqual({ owner: null, epoch: 1, live: null });
    expect(await t.dialect.acquire(exec, 'r2', [20, 21], 60_000)).toEqual([{ shard: 20, epoch: 2 }]);

    await t.dialect.leave(exec, 'r1');
    expect(await leaseRow(21)).toEqual({ owner: null, epoch: 1, live: null });
    expect(await leaseRow(22)).toEqual({ owner: null, epoch: 1, live: null });
    expect(await leaseRow(20)).toEqual({ owner: 'r2', epoch: 2, live: true });
    const { rows } = await t.pool.query(`SELECT relay_id FROM ${t.table('relays')}`);
    expect(rows).toEqual([]);
  });

  it('heartbeat registers, returns live relays sorted by bytes, and deletes expired ones', async () => {
    expect(await t.dialect.heartbeat(exec, 'relay-b', 60_000)).toEqual(['relay-b']);
    expect(await t.dialect.heartbeat(exec, 'Relay-Z', 60_000)).toEqual(['Relay-Z', 'relay-b']);
    expect(await t.dialect.heartbeat(exec, 'relay-old', 1)).toEqual(['Relay-Z', 'relay-b', 'relay-old']);
    await waitFor('relay-old to expire', async () => {
      const { rows } = await t.pool.query(`SELECT expires_at < now() AS gone FROM ${t.table('relays')} WHERE relay_id = 'relay-old'`);
      return rows[0].gone === true;
    });
    expect(await t.dialect.heartbeat(exec, 'relay-a', 60_000)).toEqual(['Relay-Z', 'relay-a', 'relay-b']);
    const { rows } = await t.pool.query(`SELECT relay_id FROM ${t.table('relays')} ORDER BY relay_id COLLATE "C"`);
    expect(rows.map((row) => row.relay_id)).toEqual(['Relay-Z', 'relay-a', 'relay-b']);
    // A heartbeat of an already registered relay refreshes it and keeps its start time.
    const before = (await t.pool.query(`SELECT started_at FROM ${t.table('relays')} WHERE relay_id = 'relay-a'`)).rows[0].started_at;
    expect(await t.dialect.heartbeat(exec, 'relay-a', 60_000)).toEqual(['Relay-Z', 'relay-a', 'relay-b']);
    const after = (await t.pool.query(`SELECT started_at FROM ${t.table('relays')} WHERE relay_id = 'relay-a'`)).rows[0].started_at;
    expect(after).toEqual(before);
  });

  it('fence returns the shards lost after another relay took over an expired lease', async () => {
    const held = await t.dialect.acquire(exec, 'r1', [30, 31], 1);
    await waitFor('the leases to expire', () => expired(30));
    await t.dialect.acquire(exec, 'r2', [30], 60_000);
    const lost = await t.db.transaction((tx) => lostShards(t.dialect, tx, 'r1', held));
    expect(lost).toEqual([30]);
    // Expiry alone is not loss: 31 expired too, but nobody took it, so its epoch still fences correctly.
    expect(await t.db.transaction((tx) => lostShards(t.dialect, tx, 'r1', [{ shard: 31, epoch: 1 }]))).toEqual([]);
    expect(await t.db.transaction((tx) => lostShards(t.dialect, tx, 'r1', [{ shard: 31, epoch: 5 }]))).toEqual([31]);
    expect(await t.db.transaction((tx) => lostShards(t.dialect, tx, 'r2', [{ shard: 30, epoch: 2 }]))).toEqual([]);
  });

  it('a takeover skips a lease row a fencing transaction holds, and takes it once that transaction ends', async () => {
    const held = await t.dialect.acquire(exec, 'r1', [40], 1);
    const fencing = await begin(t.pool);
    expect(await lostShards(t.dialect, pgExecutor(fencing), 'r1', held)).toEqual([]);
    await waitFor('the lease to expire', () => expired(40));

    const taker = await t.pool.connect();
    try {
      // No wait on the share lock (a relay paused inside its settle transaction must not stall
      // every other relay's acquisition): the locked row is left out, the free one taken.
      expect(await t.dialect.acquire(pgExecutor(taker), 'r2', [40, 41], 60_000)).toEqual([{ shard: 41, epoch: 1 }]);
      // Still r1's while the fenced transaction is open: its marks are safe.
      expect(await leaseRow(40)).toMatchObject({ owner: 'r1', epoch: 1 });
      await commit(fencing);
      expect(await t.dialect.acquire(pgExecutor(taker), 'r2', [40, 41], 60_000)).toEqual([
        { shard: 40, epoch: 2 },
        { shard: 41, epoch: 1 },
      ]);
    } finally {
      taker.release();
    }
  });
});
