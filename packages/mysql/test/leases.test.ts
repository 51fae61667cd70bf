import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lostShards } from '@outboxkit/testkit';
import { serviceUrl } from '../../testkit/dist/index.js';
import { createMysqlPool, mysqlDatabase } from '../src/index.js';
import { createTestDatabase, rows, type TestDatabase } from './helpers.js';

const TTL = 60_000;

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

/** Moves the expiry of these shards into the past, as if their owner had stopped renewing. */
async function expireShards(shards: number[]): Promise<void> {
  await t.pool.query(`UPDATE ${t.table('leases')} SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE shard IN (?)`, [shards]);
}

async function leaseRow(shard: number) {
  const [row] = await rows<{ owner: string | null; epoch: number; has_expiry: number }>(
    t.pool,
    `SELECT owner, epoch, expires_at IS NOT NULL AS has_expiry FROM ${t.table('leases')} WHERE shard = ?`,
    [shard],
  );
  return row;
}

describe('leases', () => {
  it("acquire takes free shards, bumps the epoch only when the owner changes, and leaves others' live leases", async () => {
    const first = await t.dialect.acquire(t.db, 'relay-a', [2, 1, 0], TTL);
    expect(first).toEqual([
      { shard: 0, epoch: 1 },
      { shard: 1, epoch: 1 },
      { shard: 2, epoch: 1 },
    ]);
    // Already ours: same epoch, extended.
    expect(await t.dialect.acquire(t.db, 'relay-a', [0, 1], TTL)).toEqual([
      { shard: 0, epoch: 1 },
      { shard: 1, epoch: 1 },
    ]);
    // Someone else's live lease is not taken.
    expect(await t.dialect.acquire(t.db, 'relay-b', [1, 2, 3], TTL)).toEqual([{ shard: 3, epoch: 1 }]);
    expect(await leaseRow(1)).toEqual({ owner: 'relay-a', epoch: 1, has_expiry: 1 });
    // An expired lease is taken over, with a new epoch.
    await expireShards([2]);
    expect(await t.dialect.acquire(t.db, 'relay-b', [2], TTL)).toEqual([{ shard: 2, epoch: 2 }]);
    expect(await t.dialect.acquire(t.db, 'relay-b', [], TTL)).toEqual([]);
  });

  it('renew extends only leases whose owner and epoch still match', async () => {
    await t.dialect.acquire(t.db, 'relay-r', [10, 11], TTL);
    await t.pool.query(`UPDATE ${t.table('leases')} SET expires_at = UTC_TIMESTAMP(3) + INTERVAL 1 SECOND WHERE shard IN (10, 11)`);
    const renewed = await t.dialect.renew(
      t.db,
      'relay-r',
      [
        { shard: 10, epoch: 1 },
        { shard: 11, epoch: 7 },
      ],
      TTL,
    );
    expect(renewed).toEqual([{ shard: 10, epoch: 1 }]);
    const [expiry] = await rows<{ s10: number; s11: number }>(
      t.pool,
      `SELECT MAX(IF(shard = 10, expires_at > UTC_TIMESTAMP(3) + INTERVAL 30 SECOND, NULL)) AS s10, MAX(IF(shard = 11, expires_at > UTC_TIMESTAMP(3) + INTERVAL 30 SECOND, NULL)) AS s11 FROM ${t.table('leases')}`,
    );
    expect(expiry).toEqual({ s10: 1, s11: 0 });
    // After a takeover the old owner renews nothing.
    await expireShards([10]);
    await t.dialect.acquire(t.db, 'relay-s', [10], TTL);
    expect(await t.dialect.renew(t.db, 'relay-r', [{ shard: 10, epoch: 1 }], TTL)).toEqual([]);
  });

  it("release frees only the caller's shards; the next owner gets a new epoch", async () => {
    await t.dialect.acquire(t.db, 'relay-x', [20, 21], TTL);
    await t.dialect.acquire(t.db, 'relay-y', [22], TTL);
    await t.dialect.release(t.db, 'relay-x', [20, 22]);
    expect(await leaseRow(20)).toEqual({ owner: null, epoch: 1, has_expiry: 0 });
    expect(await leaseRow(21)).toMatchObject({ owner: 'relay-x' });
    expect(await leaseRow(22)).toMatchObject({ owner: 'relay-y' });
    expect(await t.dialect.acquire(t.db, 'relay-y', [20], TTL)).toEqual([{ shard: 20, epoch: 2 }]);
  });

  it('fence reports shards whose owner or epoch changed, and ignores expiry', async () => {
    const held = await t.dialect.acquire(t.db, 'relay-f', [30, 31, 32], TTL);
    await expireShards([30]);
    await t.dialect.acquire(t.db, 'relay-g', [31], TTL); // live lease: not taken
    expect(await t.db.transaction((tx) => lostShards(t.dialect, tx, 'relay-f', held))).toEqual([]);
    expect(
      await t.db.transaction((tx) =>
        lostShards(t.dialect, tx, 'relay-f', [
          { shard: 31, epoch: 9 },
          { shard: 32, epoch: 1 },
        ]),
      ),
    ).toEqual([31]);
    await expireShards([31]);
    await t.dialect.acquire(t.db, 'relay-g', [31], TTL);
    expect(await t.db.transaction((tx) => lostShards(t.dialect, tx, 'relay-f', held))).toEqual([31]);
  });

  it('a takeover skips an expired lease a fenced transaction holds, and takes it once that transaction ends', async () => {
    const [lease] = await t.dialect.acquire(t.db, 'relay-old', [40], TTL);
    await expireShards([40]);
    // A relay whose lock waits give up after 1 s: a takeover that waited on the fence would fail.
    const impatientPool = createMysqlPool(await serviceUrl('mysql'), { connectionLimit: 1 });
    try {
      await impatientPool.query('SET SESSION innodb_lock_wait_timeout = 1');
      const impatient = mysqlDatabase(impatientPool);
      const lost = await t.db.transaction(async (tx) => {
        const lostInside = await lostShards(t.dialect, tx, 'relay-old', [lease!]);
        // No wait on the share lock: the locked row is left out, the free one taken.
        expect(await t.dialect.acquire(impatient, 'relay-new', [40, 41], TTL)).toEqual([{ shard: 41, epoch: 1 }]);
        return lostInside;
      });
      expect(lost).toEqual([]);
      expect(await leaseRow(40)).toMatchObject({ owner: 'relay-old', epoch: 1 });
      // Once the fenced transaction has committed, the same takeover goes through with a new epoch.
      expect(await t.dialect.acquire(impatient, 'relay-new', [40, 41], TTL)).toEqual([
        { shard: 40, epoch: 2 },
        { shard: 41, epoch: 1 },
      ]);
    } finally {
      await impatientPool.end();
    }
    expect(await t.db.transaction((tx) => lostShards(t.dialect, tx, 'relay-old', [lease!]))).toEqual([40]);
  });
});

describe('lease statements lock only the rows they name', () => {
  it("a fence does not wait for another relay's open acquire of other shards", async () => {
    const impatientPool = createMysqlPool(await serviceUrl('mysql'), { connectionLimit: 1 });
    try {
      await impatientPool.query('SET SESSION innodb_lock_wait_timeout = 1');
      const impatient = mysqlDatabase(impatientPool);
      const mine = await t.dialect.acquire(t.db, 'relay-mine', [60, 61], TTL);
      await t.db.transaction(async (tx) => {
        // Another relay holds row locks on shards 62 and 63 until this transaction ends.
        expect(await t.dialect.acquire(tx, 'relay-busy', [62, 63], TTL)).toHaveLength(2);
        expect(await impatient.transaction((fenced) => lostShards(t.dialect, fenced, 'relay-mine', mine))).toEqual([]);
        expect(await t.dialect.renew(impatient, 'relay-mine', mine, TTL)).toEqual(mine);
        await t.dialect.release(impatient, 'relay-mine', [61]);
      });
    } finally {
      await impatientPool.end();
    }
  });
});

describe('membership', () => {
  it('heartbeat lists live relays sorted, dropping expired others; leave releases everything', async () => {
    expect(await t.dialect.heartbeat(t.db, 'm-b', TTL)).toEqual(['m-b']);
    expect(await t.dialect.heartbeat(t.db, 'm-a', TTL)).toEqual(['m-a', 'm-b']);
    expect(await t.dialect.heartbeat(t.db, 'm-b', TTL)).toEqual(['m-a', 'm-b']);
    await t.pool.query(`UPDATE ${t.table('relays')} SET expires_at = UTC_TIMESTAMP(3) - INTERVAL 1 SECOND WHERE relay_id = 'm-a'`);
    expect(await t.dialect.heartbeat(t.db, 'm-b', TTL)).toEqual(['m-b']);
    expect(await rows(t.pool, `SELECT relay_id FROM ${t.table('relays')} WHERE relay_id = 'm-a'`)).toEqual([]);

    await t.dialect.acquire(t.db, 'm-b', [50, 51], TTL);
    await t.dialect.leave(t.db, 'm-b');
    expect(await leaseRow(50)).toMatchObject({ owner: null, has_expiry: 0 });
    expect(await leaseRow(51)).toMatchObject({ owner: null, has_expiry: 0 });
    expect(await rows(t.pool, `SELECT relay_id FROM ${t.table('relays')} WHERE relay_id = 'm-b'`)).toEqual([]);
  });
});
