import { describe, expect, it } from 'vitest';
import { SHARD_COUNT, shardOf, type StoredEvent } from '@outboxkit/core';
import { lostShards } from '@outboxkit/testkit';
import { enqueue, type SqliteDatabase } from '../src/index.js';
import { orderEvent, untilDatabaseClockPasses, useTempFiles } from './support.js';

const files = useTempFiles();
const ALL_SHARDS = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);
const HOUR_MS = 3_600_000;

async function write(db: SqliteDatabase, ...events: ReturnType<typeof orderEvent>[]) {
  return db.transaction((tx) => enqueue(tx, events));
}

const ids = (events: readonly StoredEvent[]) => events.map((event) => `${event.aggregateId}#${event.sequence}`);

async function leaseRow(db: SqliteDatabase, shard: number) {
  const { rows } = await db.query<{ owner: string | null; epoch: number; expires_at: number | null }>(
    'SELECT owner, epoch, expires_at FROM outbox_leases WHERE shard = ?',
    [shard],
  );
  return rows[0]!;
}

describe('claim', () => {
  it('returns pending events of the given shards in position order, at most limit', async () => {
    const { db, dialect } = await files.migrated();
    await write(db, orderEvent('a'), orderEvent('b'), orderEvent('a', 'OrderPaid'), orderEvent('c'));

    expect(ids(await dialect.claim(db, ALL_SHARDS, 10))).toEqual(['a#1', 'b#1', 'a#2', 'c#1']);
    expect(ids(await dialect.claim(db, ALL_SHARDS, 2))).toEqual(['a#1', 'b#1']);
    const onlyB = await dialect.claim(db, [shardOf('order', 'b')], 10);
    expect(onlyB.every((event) => event.shard === shardOf('order', 'b'))).toBe(true);
    expect(ids(onlyB)).toContain('b#1');
    expect(await dialect.claim(db, [], 10)).toEqual([]);
    expect(await dialect.countPending(db)).toBe(4);
  });

  it('skips an aggregate whose earlier event is backing off, and returns it once available again', async () => {
    const { db, dialect } = await files.migrated();
    const [a1] = await write(db, orderEvent('a'), orderEvent('a', 'OrderPaid'), orderEvent('b'));
    await db.transaction((tx) => dialect.markFailed(tx, a1!.id, 'no route', HOUR_MS));

    expect(ids(await dialect.claim(db, ALL_SHARDS, 10))).toEqual(['b#1']);

    await db.transaction((tx) => dialect.markFailed(tx, a1!.id, 'no route again', 0));
    const claimed = await dialect.claim(db, ALL_SHARDS, 10);
    expect(ids(claimed)).toEqual(['a#1', 'a#2', 'b#1']);
    expect(claimed[0]!.attempts).toBe(2);
  });

  it('records the error, truncated to 2000 characters', async () => {
    const { db, dialect } = await files.migrated();
    const [event] = await write(db, orderEvent('a'));
    await db.transaction((tx) => dialect.markFailed(tx, event!.id, 'é'.repeat(2500), 0));
    const { rows } = await db.query<{ last_error: string }>('SELECT last_error FROM outbox_events');
    expect(rows[0]!.last_error).toBe('é'.repeat(2000));
  });

  it('holds back a parked aggregate but not a dead-lettered one', async () => {
    const { db, dialect } = await files.migrated();
    const [parked1, , dead1] = await write(
      db,
      orderEvent('parked'),
      orderEvent('parked', 'OrderPaid'),
      orderEvent('dead'),
      orderEvent('dead', 'OrderPaid'),
      orderEvent('fine'),
    );
    await db.transaction(async (tx) => {
      await dialect.quarantine(tx, parked1!.id, 'poison', 'parked');
      await dialect.quarantine(tx, dead1!.id, 'poison too', 'dead-lettered');
    });

    expect(ids(await dialect.claim(db, ALL_SHARDS, 10))).toEqual(['dead#2', 'fine#1']);
  });
});

describe('markPublished', () => {
  it('moves events to history with published_at when keepHistory is on', async () => {
    const { db, dialect } = await files.migrated();
    const written = await write(db, orderEvent('a'), orderEvent('b'), orderEvent('c'));
    const claimed = await dialect.claim(db, ALL_SHARDS, 10);

    const removed = await db.transaction((tx) => dialect.markPublished(tx, [written[0]!.id, written[2]!.id], true));

    expect(removed).toBe(2);
    expect(ids(await dialect.claim(db, ALL_SHARDS, 10))).toEqual(['b#1']);
    const { rows } = await db.query<{ id: string; position: number; payload: string; published_at: number; created_at: number }>(
      'SELECT id, position, payload, published_at, created_at FROM outbox_published ORDER BY position',
    );
    expect(rows.map((row) => [row.id, row.position])).toEqual([
      [written[0]!.id, claimed[0]!.position],
      [written[2]!.id, claimed[2]!.position],
    ]);
    expect(JSON.parse(rows[0]!.payload)).toEqual({ total: 5 });
    expect(rows.every((row) => row.published_at >= row.created_at)).toBe(true);
  });

  it('only deletes when keepHistory is off, and counts unknown ids as nothing', async () => {
    const { db, dialect } = await files.migrated();
    const [event] = await write(db, orderEvent('a'));
    const removed = await db.transaction((tx) => dialect.markPublished(tx, [event!.id, '01890000-0000-7000-8000-000000000000'], false));
    expect(removed).toBe(1);
    expect(await dialect.countPending(db)).toBe(0);
    const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM outbox_published');
    expect(rows[0]!.n).toBe(0);
    expect(await db.transaction((tx) => dialect.markPublished(tx, [], true))).toBe(0);
  });

  it('rolls back with the transaction it runs in', async () => {
    const { db, dialect } = await files.migrated();
    const [event] = await write(db, orderEvent('a'));
    await expect(
      db.transaction(async (tx) => {
        await dialect.markPublished(tx, [event!.id], true);
        throw new Error('publish confirm lost');
      }),
    ).rejects.toThrow('publish confirm lost');
    expect(await dialect.countPending(db)).toBe(1);
  });
});

describe('quarantine', () => {
  it('moves the event with attempts + 1, reason and status, out of the pending table', async () => {
    const { db, dialect } = await files.migrated();
    const [event] = await write(db, orderEvent('a'));
    await db.transaction((tx) => dialect.markFailed(tx, event!.id, 'first failure', 0));
    await db.transaction((tx) => dialect.quarantine(tx, event!.id, 'too large', 'dead-lettered'));

    expect(await dialect.countPending(db)).toBe(0);
    const { rows } = await db.query('SELECT id, attempts, reason, last_error, status, resolved_at, quarantined_at FROM outbox_quarantine');
    expect(rows).toEqual([
      {
        id: event!.id,
        attempts: 2,
        reason: 'too large',
        last_error: 'too large',
        status: 'dead-lettered',
        resolved_at: null,
        quarantined_at: expect.any(Number),
      },
    ]);
  });
});

describe('leases', () => {
  it("acquire takes free shards, bumps the epoch only when the owner changes, and leaves others' shards alone", async () => {
    const { db, dialect } = await files.migrated();

    expect(await dialect.acquire(db, 'r1', [2, 0, 1], HOUR_MS)).toEqual([
      { shard: 0, epoch: 1 },
      { shard: 1, epoch: 1 },
      { shard: 2, epoch: 1 },
    ]);
    expect(await dialect.acquire(db, 'r1', [0, 1], HOUR_MS)).toEqual([
      { shard: 0, epoch: 1 },
      { shard: 1, epoch: 1 },
    ]);
    expect(await dialect.acquire(db, 'r2', [1, 2, 3], HOUR_MS)).toEqual([{ shard: 3, epoch: 1 }]);
    expect((await leaseRow(db, 1)).owner).toBe('r1');
  });

  it('acquire takes an expired lease with a new epoch; the old owner can no longer renew or pass the fence', async () => {
    const { db, dialect } = await files.migrated();
    const [old] = await dialect.acquire(db, 'old', [5], 1);
    await untilDatabaseClockPasses(db, (await leaseRow(db, 5)).expires_at!);

    expect(await dialect.acquire(db, 'new', [5], HOUR_MS)).toEqual([{ shard: 5, epoch: 2 }]);
    expect(await dialect.renew(db, 'old', [old!], HOUR_MS)).toEqual([]);
    expect(await db.transaction((tx) => lostShards(dialect, tx, 'old', [old!]))).toEqual([5]);
    expect(await db.transaction((tx) => lostShards(dialect, tx, 'new', [{ shard: 5, epoch: 2 }]))).toEqual([]);
  });

  it('renew extends only leases whose owner and epoch match', async () => {
    const { db, dialect } = await files.migrated();
    await dialect.acquire(db, 'r1', [0, 1], 1_000);
    await dialect.acquire(db, 'r2', [2], HOUR_MS);
    const before = (await leaseRow(db, 0)).expires_at!;

    const renewed = await dialect.renew(
      db,
      'r1',
      [
        { shard: 0, epoch: 1 },
        { shard: 1, epoch: 7 },
        { shard: 2, epoch: 1 },
      ],
      HOUR_MS,
    );

    expect(renewed).toEqual([{ shard: 0, epoch: 1 }]);
    expect((await leaseRow(db, 0)).expires_at!).toBeGreaterThan(before);
    expect((await leaseRow(db, 1)).expires_at!).toBeLessThanOrEqual(before);
  });

  it('fence returns the shards whose owner or epoch differ, in shard order', async () => {
    const { db, dialect } = await files.migrated();
    await dialect.acquire(db, 'r1', [0, 1, 2], HOUR_MS);
    await dialect.acquire(db, 'r2', [3], HOUR_MS);

    const stale = await db.transaction((tx) =>
      lostShards(dialect, tx, 'r1', [
        { shard: 3, epoch: 1 },
        { shard: 2, epoch: 1 },
        { shard: 1, epoch: 2 },
        { shard: 0, epoch: 1 },
      ]),
    );

    expect(stale).toEqual([1, 3]);
  });

  it('release and leave free shards for immediate takeover', async () => {
    const { db, dialect } = await files.migrated();
    await dialect.heartbeat(db, 'r1', HOUR_MS);
    await dialect.acquire(db, 'r1', [0, 1, 2], HOUR_MS);

    await dialect.release(db, 'r1', [0]);
    await dialect.release(db, 'intruder', [1]);
    expect(await leaseRow(db, 0)).toEqual({ owner: null, epoch: 1, expires_at: null });
    expect((await leaseRow(db, 1)).owner).toBe('r1');
    expect(await dialect.acquire(db, 'r2', [0], HOUR_MS)).toEqual([{ shard: 0, epoch: 2 }]);

    await dialect.leave(db, 'r1');
    expect(await dialect.acquire(db, 'r2', [1, 2], HOUR_MS)).toEqual([
      { shard: 1, epoch: 2 },
      { shard: 2, epoch: 2 },
    ]);
    expect(await dialect.heartbeat(db, 'r2', HOUR_MS)).toEqual(['r2']);
  });
});

describe('heartbeat', () => {
  it('returns the live relays sorted and prunes expired ones', async () => {
    const { db, dialect } = await files.migrated();
    expect(await dialect.heartbeat(db, 'relay-b', HOUR_MS)).toEqual(['relay-b']);
    expect(await dialect.heartbeat(db, 'relay-a', HOUR_MS)).toEqual(['relay-a', 'relay-b']);

    await dialect.heartbeat(db, 'relay-c', 1);
    const { rows } = await db.query<{ expires_at: number }>("SELECT expires_at FROM outbox_relays WHERE relay_id = 'relay-c'");
    await untilDatabaseClockPasses(db, rows[0]!.expires_at);

    expect(await dialect.heartbeat(db, 'relay-a', HOUR_MS)).toEqual(['relay-a', 'relay-b']);
    const { rows: left } = await db.query<{ relay_id: string }>('SELECT relay_id FROM outbox_relays ORDER BY relay_id');
    expect(left.map((row) => row.relay_id)).toEqual(['relay-a', 'relay-b']);
  });
});

describe('status', () => {
  it('reports an empty outbox', async () => {
    const { db, dialect } = await files.migrated();
    expect(await dialect.status(db)).toEqual({
      backlog: 0,
      oldestPendingAgeSeconds: null,
      shardOwners: [],
      quarantined: 0,
      parkedAggregates: 0,
    });
  });

  it('reports backlog, oldest age, owners, quarantined and parked aggregates', async () => {
    const { db, dialect } = await files.migrated();
    const written = await write(db, orderEvent('a'), orderEvent('a', 'X'), orderEvent('b'), orderEvent('c'), orderEvent('d'));
    await db.transaction(async (tx) => {
      await dialect.quarantine(tx, written[0]!.id, 'poison', 'parked');
      await dialect.quarantine(tx, written[2]!.id, 'poison', 'parked');
      await dialect.quarantine(tx, written[3]!.id, 'gone', 'dead-lettered');
    });
    await dialect.acquire(db, 'r1', [0, 1, 2], HOUR_MS);
    await dialect.acquire(db, 'r2', [3], HOUR_MS);
    await dialect.acquire(db, 'expired', [4], 1);
    await untilDatabaseClockPasses(db, (await leaseRow(db, 4)).expires_at!);

    const status = await dialect.status(db);

    expect(status.backlog).toBe(2);
    expect(status.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(status.oldestPendingAgeSeconds).toBeLessThan(HOUR_MS / 1000);
    expect(status.shardOwners.map(({ owner, shards }) => ({ owner, shards }))).toEqual([
      { owner: 'r1', shards: 3 },
      { owner: 'r2', shards: 1 },
    ]);
    for (const owner of status.shardOwners) {
      expect(owner.expiresInSeconds).toBeGreaterThan(0);
      expect(owner.expiresInSeconds).toBeLessThanOrEqual(HOUR_MS / 1000);
    }
    expect(status.quarantined).toBe(3);
    expect(status.parkedAggregates).toBe(2);
  });
});
