import { describe, expect, it } from 'vitest';
import { OutboxTransactionRequiredError, OutboxValidationError, SHARD_COUNT, shardOf } from '@outboxkit/core';
import { enqueue, enqueueSync } from '../src/index.js';
import { orderEvent, useTempFiles } from './support.js';

const files = useTempFiles();
const ALL_SHARDS = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);

async function counts(db: Awaited<ReturnType<typeof files.migrated>>['db']) {
  const { rows } = await db.query<{ events: number; sequences: number }>(
    'SELECT (SELECT count(*) FROM outbox_events) AS events, (SELECT count(*) FROM outbox_sequences) AS sequences',
  );
  return rows[0]!;
}

describe('enqueueSync inside better-sqlite3 db.transaction()', () => {
  it('commits events the relay can claim, with every field intact and sequences 1, 2, 3 per aggregate', async () => {
    const { path, db, dialect } = await files.migrated();
    const app = files.openRaw(path);
    app.exec('CREATE TABLE orders (id TEXT PRIMARY KEY, total INTEGER)');
    const occurredAt = new Date('2026-01-02T03:04:05.678Z');

    const placeOrders = app.transaction(() => {
      app.prepare('INSERT INTO orders (id, total) VALUES (?, ?)').run('o-1', 5);
      const first = enqueueSync(app, {
        aggregateType: 'order',
        aggregateId: 'o-1',
        type: 'OrderPlaced',
        payload: { total: 5, lines: [{ sku: 'a', qty: 2 }], note: null },
        headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
        destination: 'orders/placed',
        occurredAt,
      });
      const rest = enqueueSync(app, [orderEvent('o-1', 'OrderPaid'), orderEvent('o-2'), orderEvent('o-1', 'OrderShipped')]);
      return [...first, ...rest];
    });
    const written = placeOrders();

    expect(written.map((event) => [event.aggregateId, event.sequence])).toEqual([
      ['o-1', 1],
      ['o-1', 2],
      ['o-2', 1],
      ['o-1', 3],
    ]);
    const claimed = await dialect.claim(db, ALL_SHARDS, 10);
    expect(claimed.map((event) => event.id)).toEqual(written.map((event) => event.id));
    expect(claimed[0]).toEqual({
      id: written[0]!.id,
      aggregateType: 'order',
      aggregateId: 'o-1',
      type: 'OrderPlaced',
      payload: { total: 5, lines: [{ sku: 'a', qty: 2 }], note: null },
      headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      destination: 'orders/placed',
      occurredAt,
      expiresAt: null,
      shard: shardOf('order', 'o-1'),
      sequence: 1,
      position: claimed[0]!.position,
      attempts: 0,
    });
    expect(claimed[0]!.occurredAt).toBeInstanceOf(Date);
    expect(claimed.map((event) => event.sequence)).toEqual([1, 2, 1, 3]);
    expect(claimed.map((event) => event.position)).toEqual([...claimed.map((event) => event.position)].sort((a, b) => a - b));
    expect(claimed[2]!.destination).toBeNull();
  });

  it('leaves nothing behind when the transaction rolls back', async () => {
    const { path, db } = await files.migrated();
    const app = files.openRaw(path);
    const failing = app.transaction(() => {
      enqueueSync(app, orderEvent('o-1'));
      throw new Error('business rule failed');
    });
    expect(() => failing()).toThrow('business rule failed');
    expect(await counts(db)).toEqual({ events: 0, sequences: 0 });
  });

  it('a write that fails mid-way leaves nothing behind when the caller commits anyway: the next event gets sequence 1', async () => {
    const { path, db } = await files.migrated();
    const app = files.openRaw(path);
    const [existing] = app.transaction(() => enqueueSync(app, orderEvent('o-existing')))();
    // The second event's sequence is bumped, then its row is refused (its id is taken); the caller swallows that.
    const swallowed = app.transaction(() => {
      try {
        enqueueSync(app, [orderEvent('o-1'), { ...orderEvent('o-2'), id: existing!.id }]);
      } catch (error) {
        return error as Error;
      }
      return undefined;
    })();
    expect(swallowed?.message).toMatch(/UNIQUE/);
    expect(await counts(db)).toEqual({ events: 1, sequences: 1 });
    const next = app.transaction(() => enqueueSync(app, [orderEvent('o-1'), orderEvent('o-2')]))();
    expect(next.map((event) => event.sequence)).toEqual([1, 1]);
  });

  it('refuses to write outside a transaction and writes nothing', async () => {
    const { path, db } = await files.migrated();
    const app = files.openRaw(path);
    expect(() => enqueueSync(app, orderEvent('o-1'))).toThrow(OutboxTransactionRequiredError);
    expect(await counts(db)).toEqual({ events: 0, sequences: 0 });
  });

  it('validates every event before writing any', async () => {
    const { path, db } = await files.migrated();
    const app = files.openRaw(path);
    const write = app.transaction(() => enqueueSync(app, [orderEvent('o-1'), { ...orderEvent('o-2'), payload: undefined }]));
    expect(() => write()).toThrow(OutboxValidationError);
    expect(await counts(db)).toEqual({ events: 0, sequences: 0 });
  });

  it('writes to the configured tables', async () => {
    const { path, db, dialect } = await files.migrated({ tables: { prefix: 'shop_' } });
    const app = files.openRaw(path);
    app.transaction(() => enqueueSync(app, orderEvent('o-9'), { tables: { prefix: 'shop_' } }))();
    expect((await dialect.claim(db, ALL_SHARDS, 10)).map((event) => event.aggregateId)).toEqual(['o-9']);
  });
});

describe('enqueue (async)', () => {
  it('writes on a better-sqlite3 connection after BEGIN and is claimable after COMMIT', async () => {
    const { path, db, dialect } = await files.migrated();
    const app = files.openRaw(path);
    app.exec('BEGIN IMMEDIATE');
    const written = await enqueue(app, [orderEvent('o-1'), orderEvent('o-1', 'OrderPaid'), orderEvent('o-1', 'OrderShipped')]);
    expect(await dialect.claim(db, ALL_SHARDS, 10)).toEqual([]); // not visible before commit
    app.exec('COMMIT');

    const claimed = await dialect.claim(db, ALL_SHARDS, 10);
    expect(claimed.map((event) => [event.id, event.type, event.sequence])).toEqual(written.map((event) => [event.id, event.type, event.sequence]));
    expect(claimed.map((event) => event.sequence)).toEqual([1, 2, 3]);
  });

  it('writes inside a transaction of openSqliteDatabase', async () => {
    const { db, dialect } = await files.migrated();
    const written = await db.transaction((tx) => enqueue(tx, orderEvent('o-7')));
    expect((await dialect.claim(db, ALL_SHARDS, 10)).map((event) => event.id)).toEqual([written[0]!.id]);
  });

  it('writes with the dialect it is given, and refuses a dialect together with table options', async () => {
    const { db, dialect } = await files.migrated({ tables: { prefix: 'shop_' } });
    const written = await db.transaction((tx) => enqueue(tx, orderEvent('o-8'), { dialect }));
    expect((await dialect.claim(db, ALL_SHARDS, 10)).map((event) => event.id)).toEqual([written[0]!.id]);
    await expect(db.transaction((tx) => enqueue(tx, orderEvent('o-9'), { dialect, tables: { prefix: 'shop_' } }))).rejects.toMatchObject({
      option: 'dialect',
    });
  });

  it('leaves nothing behind after ROLLBACK', async () => {
    const { path, db } = await files.migrated();
    const app = files.openRaw(path);
    app.exec('BEGIN');
    await enqueue(app, orderEvent('o-1'));
    app.exec('ROLLBACK');
    await expect(
      db.transaction(async (tx) => {
        await enqueue(tx, orderEvent('o-2'));
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await counts(db)).toEqual({ events: 0, sequences: 0 });
  });

  it('refuses to write outside a transaction and writes nothing', async () => {
    const { path, db } = await files.migrated();
    const app = files.openRaw(path);
    await expect(enqueue(app, orderEvent('o-1'))).rejects.toThrow(OutboxTransactionRequiredError);
    await expect(enqueue(db, orderEvent('o-1'))).rejects.toThrow(OutboxTransactionRequiredError);
    expect(await counts(db)).toEqual({ events: 0, sequences: 0 });
  });

  it('refuses a transaction handle used after its transaction ended', async () => {
    const { db } = await files.migrated();
    const leaked = await db.transaction(async (tx) => tx);
    await expect(enqueue(leaked, orderEvent('o-1'))).rejects.toThrow(OutboxTransactionRequiredError);
    await expect(leaked.query('SELECT 1')).rejects.toThrow(/already committed or rolled back/);
    expect(await counts(db)).toEqual({ events: 0, sequences: 0 });
  });
});
