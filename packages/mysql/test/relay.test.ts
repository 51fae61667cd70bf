import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARD_COUNT, shardOf, type StoredEvent } from '@outboxkit/core';
import { serviceUrl } from '../../testkit/dist/index.js';
import { createMysqlPool, enqueue, mysqlDatabase } from '../src/index.js';
import { createTestDatabase, inTransaction, orderEvent, rows, type TestDatabase } from './helpers.js';

const ALL_SHARDS = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

/** An aggregate id of type `order` that hashes to `shard`. */
function aggregateInShard(shard: number, prefix: string): string {
  for (let i = 0; ; i++) if (shardOf('order', `${prefix}-${i}`) === shard) return `${prefix}-${i}`;
}

async function write(...aggregateIds: string[]) {
  return inTransaction(t.pool, (conn) =>
    enqueue(
      conn,
      aggregateIds.map((id) => orderEvent(id)),
      { dialect: t.dialect },
    ),
  );
}

/** Claimed events of these aggregates (other tests' rows share the table), as `aggregate#sequence`. */
async function claimed(aggregateIds: string[], shards = ALL_SHARDS): Promise<string[]> {
  const events = await t.dialect.claim(t.db, shards, 10_000);
  return events.filter((e) => aggregateIds.includes(e.aggregateId)).map((e) => `${e.aggregateId}#${e.sequence}`);
}

describe('claim', () => {
  it('returns available events of the given shards only, in position order, at most limit', async () => {
    const a = aggregateInShard(3, 'c-a');
    const b = aggregateInShard(4, 'c-b');
    const c = aggregateInShard(5, 'c-c');
    await write(a, b, c, a, b);
    expect(await claimed([a, b, c], [3, 4])).toEqual([`${a}#1`, `${b}#1`, `${a}#2`, `${b}#2`]);
    const limited = await t.dialect.claim(t.db, [3, 4, 5], 2);
    expect(limited.map((e) => `${e.aggregateId}#${e.sequence}`)).toEqual([`${a}#1`, `${b}#1`]);
    expect(await t.dialect.claim(t.db, [], 10)).toEqual([]);
    // Reading locks nothing and changes nothing: a second claim sees the same rows.
    expect(await claimed([a, b, c], [3, 4])).toEqual([`${a}#1`, `${b}#1`, `${a}#2`, `${b}#2`]);
  });

  it('skips an aggregate whose earlier event backs off after markFailed, and returns the others', async () => {
    await write('f-x', 'f-x', 'f-y');
    const [x1] = (await t.dialect.claim(t.db, ALL_SHARDS, 10_000)).filter((e) => e.aggregateId === 'f-x');
    await t.db.transaction((tx) => t.dialect.markFailed(tx, x1!.id, `broker said no ${'!'.repeat(3000)}`, 60_000));
    expect(await claimed(['f-x', 'f-y'])).toEqual(['f-y#1']);

    const [row] = await rows<{ attempts: number; last_error: string; backing_off: number }>(
      t.pool,
      `SELECT attempts, last_error, available_at > UTC_TIMESTAMP(3) + INTERVAL 50 SECOND AS backing_off FROM ${t.table('events')} WHERE id = ?`,
      [x1!.id],
    );
    expect(row).toMatchObject({ attempts: 1, backing_off: 1 });
    expect(Array.from(row!.last_error)).toHaveLength(2000);
    expect(row!.last_error.startsWith('broker said no !')).toBe(true);

    await t.db.transaction((tx) => t.dialect.markFailed(tx, x1!.id, 'retry now', 0));
    const events = (await t.dialect.claim(t.db, ALL_SHARDS, 10_000)).filter((e) => e.aggregateId === 'f-x');
    expect(events.map((e) => [e.sequence, e.attempts])).toEqual([
      [1, 2],
      [2, 0],
    ]);
  });

  it('skips parked aggregates but not dead-lettered ones; quarantine counts the attempt', async () => {
    await write('q-parked', 'q-parked', 'q-dead', 'q-dead', 'q-free');
    const events = (await t.dialect.claim(t.db, ALL_SHARDS, 10_000)).filter((e) => e.aggregateId.startsWith('q-'));
    const parked = events.find((e) => e.aggregateId === 'q-parked' && e.sequence === 1)!;
    const dead = events.find((e) => e.aggregateId === 'q-dead' && e.sequence === 1)!;
    await t.db.transaction((tx) => t.dialect.markFailed(tx, parked.id, 'first failure', 0));
    await t.db.transaction(async (tx) => {
      await t.dialect.quarantine(tx, parked.id, 'unroutable: no queue bound', 'parked');
      await t.dialect.quarantine(tx, dead.id, 'too large', 'dead-lettered');
    });

    expect(await claimed(['q-parked', 'q-dead', 'q-free'])).toEqual(['q-dead#2', 'q-free#1']);
    const quarantined = await rows<Record<string, unknown>>(
      t.pool,
      `SELECT id, position, aggregate_id, sequence, attempts, last_error, reason, status, CAST(payload AS CHAR) AS payload, quarantined_at IS NOT NULL AS stamped FROM ${t.table('quarantine')} WHERE aggregate_id IN ('q-parked', 'q-dead') ORDER BY position`,
    );
    expect(quarantined).toEqual([
      {
        id: parked.id,
        position: parked.position,
        aggregate_id: 'q-parked',
        sequence: 1,
        attempts: 2,
        last_error: 'unroutable: no queue bound',
        reason: 'unroutable: no queue bound',
        status: 'parked',
        payload: JSON.stringify(parked.payload),
        stamped: 1,
      },
      {
        id: dead.id,
        position: dead.position,
        aggregate_id: 'q-dead',
        sequence: 1,
        attempts: 1,
        last_error: 'too large',
        reason: 'too large',
        status: 'dead-lettered',
        payload: JSON.stringify(dead.payload),
        stamped: 1,
      },
    ]);
    const left = await rows(t.pool, `SELECT id FROM ${t.table('events')} WHERE id IN (?, ?)`, [parked.id, dead.id]);
    expect(left).toEqual([]);
  });

  it('finds an event whose transaction commits late, after later events were claimed and marked', async () => {
    const late = await t.pool.getConnection();
    try {
      await late.beginTransaction();
      const [lateEvent] = await enqueue(late, orderEvent('late-a'), { dialect: t.dialect });
      const [early] = await write('late-b');
      expect(await claimed(['late-a', 'late-b'])).toEqual(['late-b#1']);
      await t.db.transaction((tx) => t.dialect.markPublished(tx, [early!.id], true));
      expect(await claimed(['late-a', 'late-b'])).toEqual([]);

      await late.commit();
      const found = (await t.dialect.claim(t.db, ALL_SHARDS, 10_000)).find((e) => e.id === lateEvent!.id);
      const [published] = await rows<{ position: number }>(t.pool, `SELECT position FROM ${t.table('published')} WHERE id = ?`, [early!.id]);
      expect(found?.aggregateId).toBe('late-a');
      // It was inserted first (lower position) yet became visible last: only a status-based claim finds it.
      expect(found!.position).toBeLessThan(published!.position);
    } finally {
      late.release();
    }
  });
});

describe('markPublished', () => {
  async function pendingIds(aggregateId: string): Promise<StoredEvent[]> {
    return (await t.dialect.claim(t.db, ALL_SHARDS, 10_000)).filter((e) => e.aggregateId === aggregateId);
  }

  it('moves events to history with published_at when keepHistory', async () => {
    await write('p-hist', 'p-hist');
    const events = await pendingIds('p-hist');
    const removed = await t.db.transaction((tx) =>
      t.dialect.markPublished(
        tx,
        events.map((e) => e.id),
        true,
      ),
    );
    expect(removed).toBe(2);
    expect(await pendingIds('p-hist')).toEqual([]);
    const history = await rows<Record<string, unknown>>(
      t.pool,
      `SELECT id, position, sequence, type, CAST(payload AS CHAR) AS payload, published_at >= created_at AS after_created FROM ${t.table('published')} WHERE aggregate_id = 'p-hist' ORDER BY position`,
    );
    expect(history).toEqual(
      events.map((e) => ({ id: e.id, position: e.position, sequence: e.sequence, type: e.type, payload: JSON.stringify(e.payload), after_created: 1 })),
    );
  });

  it('only deletes without history, and counts only rows it removed', async () => {
    await write('p-nohist');
    const [event] = await pendingIds('p-nohist');
    const removed = await t.db.transaction((tx) => t.dialect.markPublished(tx, [event!.id, '00000000-0000-7000-8000-000000000000'], false));
    expect(removed).toBe(1);
    expect(await pendingIds('p-nohist')).toEqual([]);
    expect(await rows(t.pool, `SELECT id FROM ${t.table('published')} WHERE id = ?`, [event!.id])).toEqual([]);
    expect(await t.db.transaction((tx) => t.dialect.markPublished(tx, [], true))).toBe(0);
  });

  it('changes nothing when the relay transaction rolls back', async () => {
    await write('p-rollback');
    const [event] = await pendingIds('p-rollback');
    await expect(
      t.db.transaction(async (tx) => {
        await t.dialect.markPublished(tx, [event!.id], true);
        throw new Error('lease lost');
      }),
    ).rejects.toThrow('lease lost');
    expect((await pendingIds('p-rollback')).map((e) => e.id)).toEqual([event!.id]);
    expect(await rows(t.pool, `SELECT id FROM ${t.table('published')} WHERE id = ?`, [event!.id])).toEqual([]);
  });
});

describe('relay statements on a nearly empty table', () => {
  it("mark and quarantine events without waiting for a writer's open transaction", async () => {
    // Few rows make the optimizer prefer a full scan, which would lock (and wait for) the open row.
    const small = await createTestDatabase();
    const impatientPool = createMysqlPool(await serviceUrl('mysql'), { connectionLimit: 1 });
    const writer = await small.pool.getConnection();
    try {
      await impatientPool.query('SET SESSION innodb_lock_wait_timeout = 1');
      const impatient = mysqlDatabase(impatientPool);
      await writer.beginTransaction();
      await enqueue(writer, orderEvent('open-1'), { dialect: small.dialect });
      const done = await inTransaction(small.pool, (conn) =>
        enqueue(
          conn,
          Array.from({ length: 10 }, (_, i) => orderEvent(`done-${i}`)),
          { dialect: small.dialect },
        ),
      );
      const [failing, ...published] = done.map((event) => event.id);

      const marked = await impatient.transaction(async (tx) => {
        await small.dialect.markFailed(tx, failing!, 'failed once', 0);
        await small.dialect.quarantine(tx, failing!, 'poison', 'dead-lettered');
        return small.dialect.markPublished(tx, published, true);
      });
      expect(marked).toBe(9);
      await writer.commit();
      expect((await small.dialect.claim(small.db, ALL_SHARDS, 10)).map((e) => e.aggregateId)).toEqual(['open-1']);
    } finally {
      writer.release();
      await impatientPool.end();
      await small.drop();
    }
  });
});
