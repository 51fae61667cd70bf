import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OutboxTransactionRequiredError, OutboxValidationError, shardOf, SHARD_COUNT } from '@outboxkit/core';
import { createPostgresDialect, enqueue, pgExecutor } from '../src/index.js';
import { backendPid, begin, commit, createTestSchema, isWaitingOnLock, orderEvent, rollback, uniqueName, waitFor, type TestSchema } from './helpers.js';

const ALL_SHARDS = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);

describe('enqueue (raw pg write path)', () => {
  let t: TestSchema;
  const claimAll = () => t.dialect.claim(pgExecutor(t.pool), ALL_SHARDS, 1000);

  beforeAll(async () => {
    t = await createTestSchema();
  });
  beforeEach(async () => {
    await t.reset();
  });
  afterAll(async () => {
    await t.drop();
  });

  it('makes committed events claimable with every field intact and sequences 1, 2, 3 per aggregate', async () => {
    const occurredAt = new Date('2026-03-04T05:06:07.891Z');
    const client = await begin(t.pool);
    const written = await enqueue(
      client,
      [
        {
          aggregateType: 'order',
          aggregateId: 'o-1',
          type: 'OrderPlaced',
          payload: { total: 5, items: ['a', 'b'], note: null },
          headers: { traceparent: '00-abc-def-01' },
          occurredAt,
          destination: 'orders/placed',
        },
        { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPaid', payload: [1, 'two', { three: 3 }] },
        { aggregateType: 'order', aggregateId: 42, type: 'OrderPlaced', payload: 'just a string' },
        { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderShipped', payload: null },
      ],
      { dialect: t.dialect },
    );
    await commit(client);
    expect(written.map((event) => event.sequence)).toEqual([1, 2, 1, 3]);

    const claimed = await claimAll();
    expect(claimed.map((event) => event.id)).toEqual(written.map((event) => event.id));
    const first = claimed[0]!;
    expect(first).toMatchObject({
      aggregateType: 'order',
      aggregateId: 'o-1',
      type: 'OrderPlaced',
      payload: { total: 5, items: ['a', 'b'], note: null },
      headers: { traceparent: '00-abc-def-01' },
      destination: 'orders/placed',
      sequence: 1,
      shard: shardOf('order', 'o-1'),
      attempts: 0,
    });
    expect(first.occurredAt).toBeInstanceOf(Date);
    expect(first.occurredAt.toISOString()).toBe('2026-03-04T05:06:07.891Z');
    expect(claimed[1]).toMatchObject({ payload: [1, 'two', { three: 3 }], headers: {}, destination: null, sequence: 2 });
    expect(claimed[2]).toMatchObject({ aggregateId: '42', payload: 'just a string', sequence: 1 });
    expect(claimed[3]).toMatchObject({ payload: null, sequence: 3 });
    expect(claimed.map((event) => typeof event.position)).toEqual(['number', 'number', 'number', 'number']);
    expect([...claimed].sort((a, b) => a.position - b.position)).toEqual(claimed);

    // A later transaction continues the aggregate's sequence.
    const again = await begin(t.pool);
    const [next] = await enqueue(again, orderEvent('o-1', 'OrderDelivered'), { dialect: t.dialect });
    await commit(again);
    expect(next!.sequence).toBe(4);
  });

  it('writes nothing when the transaction rolls back', async () => {
    const client = await begin(t.pool);
    await enqueue(client, [orderEvent('o-rolled'), orderEvent('o-rolled')], { dialect: t.dialect });
    await rollback(client);
    expect(await claimAll()).toEqual([]);
    expect(await t.dialect.countPending(pgExecutor(t.pool))).toBe(0);
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM ${t.table('sequences')}`);
    expect(rows[0].n).toBe(0);
  });

  it('refuses to write without BEGIN and writes nothing', async () => {
    const client = await t.pool.connect();
    try {
      await expect(enqueue(client, orderEvent('o-auto'), { dialect: t.dialect })).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
    } finally {
      client.release();
    }
    // Also on a Pool: each statement would auto-commit on its own connection.
    await expect(enqueue(t.pool, orderEvent('o-auto'), { dialect: t.dialect })).rejects.toThrow(/inside the business transaction/);
    expect(await t.dialect.countPending(pgExecutor(t.pool))).toBe(0);
  });

  it('rejects an invalid event before any statement, leaving the transaction usable', async () => {
    const client = await begin(t.pool);
    await expect(
      enqueue(client, [orderEvent('o-ok'), { aggregateType: 'order', aggregateId: '', type: 'X', payload: {} }], { dialect: t.dialect }),
    ).rejects.toBeInstanceOf(OutboxValidationError);
    // jsonb cannot store NUL: caught before the first statement, so the caller's transaction is not aborted.
    await expect(enqueue(client, [orderEvent('o-ok'), orderEvent('o-nul', 'X', { text: 'a\u0000b' })], { dialect: t.dialect })).rejects.toThrow(
      /NUL character/,
    );
    const [written] = await enqueue(client, orderEvent('o-ok', 'X', { text: 'a literal \\u0000 is fine' }), { dialect: t.dialect });
    await commit(client);
    expect(written!.sequence).toBe(1);
    const claimed = await claimAll();
    expect(claimed.map((event) => event.payload)).toEqual([{ text: 'a literal \\u0000 is fine' }]);
  });

  it('gives concurrent writers of one aggregate sequences in commit order', async () => {
    const first = await begin(t.pool);
    const second = await begin(t.pool);
    const secondPid = await backendPid(second);
    const [a] = await enqueue(first, orderEvent('o-race', 'First'), { dialect: t.dialect });
    // The second writer needs the aggregate's sequence row, locked by the first until it commits.
    const secondWrite = enqueue(second, orderEvent('o-race', 'Second'), { dialect: t.dialect });
    await waitFor('the second writer to block on the sequence row', () => isWaitingOnLock(t.pool, secondPid));
    await commit(first);
    const [b] = await secondWrite;
    await commit(second);
    expect([a!.sequence, b!.sequence]).toEqual([1, 2]);
    const claimed = await claimAll();
    expect(claimed.map((event) => [event.type, event.sequence])).toEqual([
      ['First', 1],
      ['Second', 2],
    ]);
  });

  it('gives the waiting writer sequence 1 when the first writer rolls back', async () => {
    const first = await begin(t.pool);
    const second = await begin(t.pool);
    const secondPid = await backendPid(second);
    await enqueue(first, orderEvent('o-gap', 'RolledBack'), { dialect: t.dialect });
    const secondWrite = enqueue(second, orderEvent('o-gap', 'Kept'), { dialect: t.dialect });
    await waitFor('the second writer to block', () => isWaitingOnLock(t.pool, secondPid));
    await rollback(first);
    const [kept] = await secondWrite;
    await commit(second);
    expect(kept!.sequence).toBe(1);
  });

  it('sends one notification per writing transaction on the configured channel', async () => {
    // Own channels: other test files write to the default channel at the same time.
    const channel = uniqueName('ch');
    const quietChannel = uniqueName('ch');
    const notifying = createPostgresDialect({ tables: { schema: t.schema }, notify: { channel } });
    const listener = await t.pool.connect();
    const seen: string[] = [];
    listener.on('notification', (message) => seen.push(message.channel));
    try {
      await listener.query(`LISTEN "${channel}"`);
      await listener.query(`LISTEN "${quietChannel}"`);
      const client = await begin(t.pool);
      await enqueue(client, [orderEvent('o-n1'), orderEvent('o-n2')], { dialect: notifying });
      await enqueue(client, orderEvent('o-n3'), { dialect: notifying });
      const silent = createPostgresDialect({ tables: { schema: t.schema }, notify: false });
      await enqueue(client, orderEvent('o-n4'), { dialect: silent });
      await commit(client);
      // A sentinel on the other channel arrives after anything the transaction above sent.
      await t.pool.query('SELECT pg_notify($1, $2)', [quietChannel, 'sentinel']);
      await waitFor('the sentinel notification', () => seen.includes(quietChannel));
      // PostgreSQL folds identical notifications of one transaction into one.
      expect(seen).toEqual([channel, quietChannel]);

      // The options form of enqueue notifies the channel it was given.
      seen.length = 0;
      const viaOptions = await begin(t.pool);
      await enqueue(viaOptions, orderEvent('o-n5'), { tables: { schema: t.schema }, notify: { channel } });
      await commit(viaOptions);
      await t.pool.query('SELECT pg_notify($1, $2)', [quietChannel, 'sentinel']);
      await waitFor('the second sentinel', () => seen.includes(quietChannel));
      expect(seen).toEqual([channel, quietChannel]);
    } finally {
      await listener.query('UNLISTEN *');
      listener.release();
    }
  });

  it('costs one statement per event on a pg client, the transaction check and the NOTIFY included', async () => {
    const channel = uniqueName('ch');
    const notifying = createPostgresDialect({ tables: { schema: t.schema }, notify: { channel } });
    const client = await begin(t.pool);
    const statements: string[] = [];
    const counted = {
      query: (sql: string, params?: unknown[]) => {
        statements.push(sql);
        return client.query(sql, params);
      },
      getTransactionStatus: () => client.getTransactionStatus(),
    };
    try {
      await enqueue(counted, [orderEvent('o-s1'), orderEvent('o-s2')], { dialect: notifying });
      expect(statements).toHaveLength(2);
      expect(statements[1]).toContain('pg_notify');
      expect(statements[0]).not.toContain('pg_notify');
    } finally {
      await commit(client);
    }
    // Outside BEGIN the status says idle: refused without a statement.
    const idle = await t.pool.connect();
    statements.length = 0;
    try {
      await expect(
        enqueue(
          {
            query: (sql: string, params?: unknown[]) => {
              statements.push(sql);
              return idle.query(sql, params);
            },
            getTransactionStatus: () => idle.getTransactionStatus(),
          },
          orderEvent('o-s3'),
          { dialect: notifying },
        ),
      ).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
      expect(statements).toEqual([]);
    } finally {
      idle.release();
    }
  });

  it('writes to custom table names through the tables option', async () => {
    const client = await begin(t.pool);
    await enqueue(client, orderEvent('o-tables'), { tables: { schema: t.schema } });
    await commit(client);
    expect((await claimAll()).map((event) => event.aggregateId)).toEqual(['o-tables']);
    await expect(enqueue(client, orderEvent('x'), { dialect: t.dialect, tables: { schema: t.schema } })).rejects.toThrow(/either a dialect or tables/);
  });
});
