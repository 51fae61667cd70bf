import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope, OutboxTransactionRequiredError, SHARD_COUNT, type SqlExecutor } from '@outboxkit/core';
import { enqueue, mysqlExecutor } from '../src/index.js';
import { probeTransactionWithSavepoint, mysqlStatements } from '../src/mysql-sql.js';
import { createTestDatabase, inTransaction, orderEvent, rows, waitForLockWait, type TestDatabase } from './helpers.js';

const ALL_SHARDS = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

/** Events of `aggregateId` in `events`, in position order. */
async function pendingOf(aggregateId: string) {
  const claimed = await t.dialect.claim(t.db, ALL_SHARDS, 1000);
  return claimed.filter((event) => event.aggregateId === aggregateId);
}

describe('enqueue on a mysql2 connection', () => {
  it('writes committed events that a relay can claim with every field intact', async () => {
    const occurredAt = new Date('2024-02-29T23:59:58.123Z');
    const written = await inTransaction(t.pool, (conn) =>
      enqueue(
        conn,
        [
          {
            aggregateType: 'order',
            aggregateId: 'w-1',
            type: 'OrderPlaced',
            payload: { total: 5, items: ['a', 'é', '😀'] },
            headers: { traceparent: 'tp-1' },
            occurredAt,
            destination: 'orders/placed',
          },
          { aggregateType: 'order', aggregateId: 'w-1', type: 'OrderPaid', payload: 'a JSON string' },
          { aggregateType: 'order', aggregateId: 'w-1', type: 'OrderShipped', payload: null },
        ],
        { dialect: t.dialect },
      ),
    );
    expect(written.map((event) => event.sequence)).toEqual([1, 2, 3]);

    const claimed = await pendingOf('w-1');
    expect(claimed.map((event) => event.sequence)).toEqual([1, 2, 3]);
    expect(claimed.map((event) => event.id)).toEqual(written.map((event) => event.id));
    const [first, second, third] = claimed;
    expect(first).toMatchObject({
      aggregateType: 'order',
      type: 'OrderPlaced',
      payload: { total: 5, items: ['a', 'é', '😀'] },
      headers: { traceparent: 'tp-1' },
      destination: 'orders/placed',
      shard: written[0]!.shard,
      attempts: 0,
    });
    expect(first!.occurredAt).toBeInstanceOf(Date);
    expect(first!.occurredAt.toISOString()).toBe('2024-02-29T23:59:58.123Z');
    expect(second).toMatchObject({ payload: 'a JSON string', headers: {}, destination: null });
    expect(third!.payload).toBeNull();
    expect(first!.position).toBeLessThan(second!.position);
    expect(second!.position).toBeLessThan(third!.position);
  });

  it("continues an aggregate's sequence across transactions, independently of other aggregates", async () => {
    await inTransaction(t.pool, (conn) => enqueue(conn, [orderEvent('w-2'), orderEvent('w-3')], { dialect: t.dialect }));
    const written = await inTransaction(t.pool, (conn) => enqueue(conn, [orderEvent('w-2'), orderEvent('w-3'), orderEvent('w-2')], { dialect: t.dialect }));
    expect(written.map((event) => [event.aggregateId, event.sequence])).toEqual([
      ['w-2', 2],
      ['w-3', 2],
      ['w-2', 3],
    ]);
  });

  it('leaves nothing behind when the transaction rolls back', async () => {
    const before = await t.dialect.countPending(t.db);
    await expect(
      inTransaction(t.pool, async (conn) => {
        await enqueue(conn, orderEvent('w-rollback'), { dialect: t.dialect });
        throw new Error('business failure');
      }),
    ).rejects.toThrow('business failure');
    expect(await t.dialect.countPending(t.db)).toBe(before);
    const sequences = await rows(t.pool, `SELECT * FROM ${t.table('sequences')} WHERE aggregate_id = 'w-rollback'`);
    expect(sequences).toEqual([]);
  });

  it('refuses to write without an open transaction, and writes nothing', async () => {
    const before = await t.dialect.countPending(t.db);
    const conn = await t.pool.getConnection();
    try {
      await expect(enqueue(conn, orderEvent('w-no-tx'), { dialect: t.dialect })).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
      // After a finished transaction, too.
      await conn.beginTransaction();
      await conn.commit();
      await expect(enqueue(conn, orderEvent('w-no-tx'), { dialect: t.dialect })).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
    } finally {
      conn.release();
    }
    await expect(enqueue(t.pool, orderEvent('w-no-tx'), { dialect: t.dialect })).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
    expect(await t.dialect.countPending(t.db)).toBe(before);
  });

  it("uses the default tables of the connection's database when given no options", async () => {
    const conn = await t.pool.getConnection();
    try {
      await conn.query(`USE \`${t.schema}\``);
      await conn.beginTransaction();
      const [written] = await enqueue(conn, orderEvent('w-default-tables'));
      await conn.commit();
      expect(written?.sequence).toBe(1);
    } finally {
      conn.release();
    }
    expect((await pendingOf('w-default-tables')).length).toBe(1);
  });

  it('gives concurrent writers of one aggregate sequences in commit order', async () => {
    const first = await t.pool.getConnection();
    const second = await t.pool.getConnection();
    try {
      await first.beginTransaction();
      await second.beginTransaction();
      // The second writer has written before, so the server lists its transaction at once when it waits.
      await enqueue(second, orderEvent('w-race-other'), { dialect: t.dialect });
      const [a] = await enqueue(first, orderEvent('w-race', 'First'), { dialect: t.dialect });
      let secondDone = false;
      const secondWrite = enqueue(second, orderEvent('w-race', 'Second'), { dialect: t.dialect }).then((events) => {
        secondDone = true;
        return events;
      });
      // The second writer waits on the aggregate's sequence row until the first commits.
      await waitForLockWait(t.pool, t.schema);
      expect(secondDone).toBe(false);
      await first.commit();
      const [b] = await secondWrite;
      await second.commit();
      expect([a?.sequence, b?.sequence]).toEqual([1, 2]);
    } finally {
      first.release();
      second.release();
    }
    const claimed = await pendingOf('w-race');
    expect(claimed.map((event) => [event.type, event.sequence])).toEqual([
      ['First', 1],
      ['Second', 2],
    ]);
  });

  it('keeps sequence order equal to position order under many parallel writers', async () => {
    const writers = Array.from({ length: 12 }, () =>
      inTransaction(t.pool, (conn) => enqueue(conn, [orderEvent('w-many'), orderEvent(`w-other-${Math.random()}`)], { dialect: t.dialect })),
    );
    const written = (await Promise.all(writers)).map((events) => events[0]!.sequence);
    expect([...written].sort((x, y) => x - y)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    const claimed = await pendingOf('w-many');
    expect(claimed.map((event) => event.sequence)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
  });

  it('reads sequences through SELECT LAST_INSERT_ID() on executors without an insert id (ORM adapters)', async () => {
    const written = await inTransaction(t.pool, async (conn) => {
      const driver = mysqlExecutor(conn);
      // The shape an ORM adapter gives: rows and rowCount only.
      const plain: SqlExecutor = {
        async query<Row>(sql: string, params?: readonly unknown[]) {
          const { rows: resultRows, rowCount } = await driver.query<Row>(sql, params);
          return { rows: resultRows, rowCount };
        },
      };
      expect(await t.dialect.inTransaction(plain)).toBe(true);
      const first = await t.dialect.insertEvents(plain, [createEnvelope(orderEvent('w-orm', 'A'))]);
      const second = await t.dialect.insertEvents(plain, [createEnvelope(orderEvent('w-orm', 'B'))]);
      return [...first, ...second];
    });
    expect(written).toEqual([1, 2]);
  });
});

describe('the transaction check', () => {
  it('reads @@in_transaction on MariaDB: true only between BEGIN and COMMIT/ROLLBACK', async () => {
    const conn = await t.pool.getConnection();
    const exec = mysqlExecutor(conn);
    try {
      expect(await t.dialect.inTransaction(exec)).toBe(false);
      await conn.query('BEGIN');
      expect(await t.dialect.inTransaction(exec)).toBe(true);
      await conn.query('ROLLBACK');
      expect(await t.dialect.inTransaction(exec)).toBe(false);
    } finally {
      conn.release();
    }
  });

  it('has a savepoint probe for MySQL (no @@in_transaction) that gives the same answers', async () => {
    const statements = mysqlStatements(t.dialect.tables);
    const conn = await t.pool.getConnection();
    const exec = mysqlExecutor(conn);
    try {
      expect(await probeTransactionWithSavepoint(exec, statements)).toBe(false);
      await conn.query('BEGIN');
      await conn.query(`INSERT INTO ${t.table('sequences')} (aggregate_type, aggregate_id, last_sequence) VALUES ('probe', 'p', 7)`);
      expect(await probeTransactionWithSavepoint(exec, statements)).toBe(true);
      // The probe must not have ended or changed the transaction: the row is still rolled back.
      await conn.query('ROLLBACK');
      expect(await probeTransactionWithSavepoint(exec, statements)).toBe(false);
    } finally {
      conn.release();
    }
    expect(await rows(t.pool, `SELECT * FROM ${t.table('sequences')} WHERE aggregate_type = 'probe'`)).toEqual([]);
  });
});
