import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { shardOf, SHARD_COUNT, type SqlExecutor } from '@outboxkit/core';
import { enqueue, pgExecutor } from '../src/index.js';
import { begin, commit, createTestSchema, orderEvent, type TestSchema } from './helpers.js';

const ALL_SHARDS = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);

describe('relay statements: claim, markPublished, markFailed, quarantine, status', () => {
  let t: TestSchema;
  let exec: SqlExecutor;
  const write = async (...events: ReturnType<typeof orderEvent>[]) => {
    const client = await begin(t.pool);
    const written = await enqueue(client, events, { dialect: t.dialect });
    await commit(client);
    return written;
  };
  const claimedIds = async (shards = ALL_SHARDS, limit = 1000) => (await t.dialect.claim(exec, shards, limit)).map((e) => e.id);

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

  it('claims only the given shards, in position order, up to the limit, without changing anything', async () => {
    const events = await write(...Array.from({ length: 12 }, (_, i) => orderEvent(`o-${i}`)));
    const shard = events[0]!.shard;
    const inShard = events.filter((e) => e.shard === shard).map((e) => e.id);
    expect(await claimedIds([shard])).toEqual(inShard);
    expect(await claimedIds(ALL_SHARDS, 5)).toEqual(events.slice(0, 5).map((e) => e.id));
    expect(await claimedIds([])).toEqual([]);
    // A plain read: claiming twice returns the same rows.
    expect(await claimedIds()).toEqual(events.map((e) => e.id));
    expect(await claimedIds()).toEqual(events.map((e) => e.id));
  });

  it('holds back an aggregate whose earlier event is backing off, and only that aggregate', async () => {
    const [a1, a2, b1] = await write(orderEvent('o-slow'), orderEvent('o-slow'), orderEvent('o-fast'));
    await t.db.transaction((tx) => t.dialect.markFailed(tx, a1!.id, 'nack', 60_000));
    expect(await claimedIds()).toEqual([b1!.id]);
    const { rows } = await t.pool.query(`SELECT attempts, last_error, available_at > now() AS later FROM ${t.table('events')} WHERE id = $1`, [a1!.id]);
    expect(rows[0]).toEqual({ attempts: 1, last_error: 'nack', later: true });
    // Once the backoff is over, the aggregate flows again, in order, with its attempt count.
    await t.db.transaction((tx) => t.dialect.markFailed(tx, a1!.id, 'x'.repeat(5000), 0));
    const claimed = await t.dialect.claim(exec, ALL_SHARDS, 10);
    expect(claimed.map((e) => [e.id, e.attempts])).toEqual([
      [a1!.id, 2],
      [a2!.id, 0],
      [b1!.id, 0],
    ]);
    const { rows: error } = await t.pool.query(`SELECT length(last_error) AS n FROM ${t.table('events')} WHERE id = $1`, [a1!.id]);
    expect(error[0].n).toBe(2000);
  });

  it('holds back a parked aggregate and keeps every other aggregate flowing', async () => {
    const [p1, p2, other] = await write(orderEvent('o-poison'), orderEvent('o-poison'), orderEvent('o-healthy'));
    await t.db.transaction((tx) => t.dialect.quarantine(tx, p1!.id, 'rejected by broker', 'parked'));
    expect(await claimedIds()).toEqual([other!.id]);
    // Dead-lettered events do not park their aggregate.
    await t.pool.query(`UPDATE ${t.table('quarantine')} SET status = 'dead-lettered' WHERE id = $1`, [p1!.id]);
    expect(await claimedIds()).toEqual([p2!.id, other!.id]);
  });

  it('quarantine moves the row with attempts + 1, the reason and the status', async () => {
    const [event] = await write(orderEvent('o-q', 'Bad', { big: true }));
    await t.db.transaction((tx) => t.dialect.markFailed(tx, event!.id, 'first failure', 0));
    await t.db.transaction((tx) => t.dialect.quarantine(tx, event!.id, 'unroutable\u0000 after 2 attempts', 'dead-lettered'));
    expect(await t.dialect.countPending(exec)).toBe(0);
    const { rows } = await t.pool.query(
      `SELECT id, position::int AS position, sequence::int AS sequence, type, payload, attempts, last_error, reason, status,
              quarantined_at IS NOT NULL AS stamped, resolved_at FROM ${t.table('quarantine')}`,
    );
    expect(rows).toEqual([
      {
        id: event!.id,
        position: expect.any(Number),
        sequence: 1,
        type: 'Bad',
        payload: { big: true },
        attempts: 2,
        last_error: 'unroutable after 2 attempts',
        reason: 'unroutable after 2 attempts',
        status: 'dead-lettered',
        stamped: true,
        resolved_at: null,
      },
    ]);
  });

  it('markPublished moves rows to history in one statement, or only deletes them when history is off', async () => {
    const [a, b, c] = await write(orderEvent('o-p1'), orderEvent('o-p2'), orderEvent('o-p3'));
    const moved = await t.db.transaction((tx) => t.dialect.markPublished(tx, [a!.id, b!.id], true));
    expect(moved).toBe(2);
    const { rows: history } = await t.pool.query(
      `SELECT h.id, h.aggregate_id, h.payload, h.published_at >= h.created_at AS after_created FROM ${t.table('published')} h ORDER BY h.position`,
    );
    expect(history).toEqual([
      { id: a!.id, aggregate_id: 'o-p1', payload: { aggregateId: 'o-p1' }, after_created: true },
      { id: b!.id, aggregate_id: 'o-p2', payload: { aggregateId: 'o-p2' }, after_created: true },
    ]);
    expect(await claimedIds()).toEqual([c!.id]);

    expect(await t.db.transaction((tx) => t.dialect.markPublished(tx, [c!.id, a!.id], false))).toBe(1);
    expect(await t.dialect.countPending(exec)).toBe(0);
    const { rows: count } = await t.pool.query(`SELECT count(*)::int AS n FROM ${t.table('published')}`);
    expect(count[0].n).toBe(2);
    expect(await t.dialect.markPublished(exec, [], true)).toBe(0);
  });

  it('claims a late-committing transaction after later events were already claimed and published', async () => {
    const late = await begin(t.pool);
    const [lateEvent] = await enqueue(late, orderEvent('o-late'), { dialect: t.dialect });
    const [early] = await write(orderEvent('o-early'));
    // The open transaction's row has the lower position but is invisible until it commits.
    expect(await claimedIds()).toEqual([early!.id]);
    await t.db.transaction((tx) => t.dialect.markPublished(tx, [early!.id], true));
    expect(await claimedIds()).toEqual([]);
    await commit(late);
    const claimed = await t.dialect.claim(exec, ALL_SHARDS, 10);
    expect(claimed.map((e) => e.id)).toEqual([lateEvent!.id]);
    expect(claimed[0]!.shard).toBe(shardOf('order', 'o-late'));
  });

  it('status reports backlog, oldest age, owners, quarantine and parked aggregates', async () => {
    const empty = await t.dialect.status(exec);
    expect(empty).toEqual({ backlog: 0, oldestPendingAgeSeconds: null, shardOwners: [], quarantined: 0, parkedAggregates: 0 });

    const events = await write(orderEvent('o-s1'), orderEvent('o-s1'), orderEvent('o-s2'), orderEvent('o-s3'), orderEvent('o-s4'));
    await t.pool.query(`UPDATE ${t.table('events')} SET created_at = now() - interval '90 seconds' WHERE id = $1`, [events[0]!.id]);
    await t.db.transaction(async (tx) => {
      await t.dialect.quarantine(tx, events[0]!.id, 'poison', 'parked');
      await t.dialect.quarantine(tx, events[1]!.id, 'poison', 'parked');
      await t.dialect.quarantine(tx, events[2]!.id, 'poison', 'dead-lettered');
    });
    await t.dialect.acquire(exec, 'relay-b', [0, 1, 2], 60_000);
    await t.dialect.acquire(exec, 'relay-a', [3], 30_000);
    await t.dialect.acquire(exec, 'relay-gone', [4], 1);
    await t.pool.query(`UPDATE ${t.table('leases')} SET expires_at = now() - interval '1 second' WHERE owner = 'relay-gone'`);

    const status = await t.dialect.status(exec);
    expect(status.backlog).toBe(2);
    expect(status.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(0);
    expect(status.oldestPendingAgeSeconds).toBeLessThan(90); // the 90-second-old row left for quarantine
    expect(status.quarantined).toBe(3);
    expect(status.parkedAggregates).toBe(1);
    expect(status.shardOwners.map((o) => [o.owner, o.shards])).toEqual([
      ['relay-a', 1],
      ['relay-b', 3],
    ]);
    expect(status.shardOwners[0]!.expiresInSeconds).toBeGreaterThan(0);
    expect(status.shardOwners[0]!.expiresInSeconds).toBeLessThanOrEqual(30);
    expect(status.shardOwners[1]!.expiresInSeconds).toBeGreaterThan(30);

    await t.pool.query(`UPDATE ${t.table('events')} SET created_at = now() - interval '90 seconds' WHERE id = $1`, [events[3]!.id]);
    expect((await t.dialect.status(exec)).oldestPendingAgeSeconds).toBeGreaterThanOrEqual(90);
  });
});
