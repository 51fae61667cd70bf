import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEnvelope, SHARD_COUNT, type SqlExecutor } from '@outboxkit/core';
import { lostShards } from '@outboxkit/testkit';
import type { Connection, ExecuteValues } from 'mysql2/promise';
import { mysqlStatements, probeTransactionWithSavepoint } from '../src/mysql-sql.js';
import { createTestDatabase, orderEvent, type TestDatabase } from './helpers.js';

const ALL_SHARDS = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

/**
 * An executor on server-side prepared statements (`execute`), the way some ORM adapters run SQL,
 * and without the insert id: every statement text must prepare and bind as it is.
 */
function preparedExecutor(connection: Connection): SqlExecutor {
  return {
    async query<Row>(sql: string, params: readonly unknown[] = []) {
      const [result] = await connection.execute(sql, params as ExecuteValues);
      if (Array.isArray(result)) return { rows: result as Row[], rowCount: result.length };
      return { rows: [], rowCount: (result as { affectedRows: number }).affectedRows };
    },
  };
}

describe('every statement as a server-side prepared statement', () => {
  it('writes, claims, marks, quarantines, leases and reports', async () => {
    const connection = await t.pool.getConnection();
    const exec = preparedExecutor(connection);
    const { dialect } = t;
    try {
      expect(await dialect.inTransaction(exec)).toBe(false);
      expect(await probeTransactionWithSavepoint(exec, mysqlStatements(dialect.tables))).toBe(false);
      await connection.beginTransaction();
      expect(await dialect.inTransaction(exec)).toBe(true);
      expect(await probeTransactionWithSavepoint(exec, mysqlStatements(dialect.tables))).toBe(true);
      const envelopes = ['pr-1', 'pr-1', 'pr-2', 'pr-3'].map((id) => createEnvelope(orderEvent(id)));
      expect(await dialect.insertEvents(exec, envelopes)).toEqual([1, 2, 1, 1]);
      await connection.commit();

      const claimed = await dialect.claim(exec, ALL_SHARDS, 10);
      expect(claimed.map((e) => `${e.aggregateId}#${e.sequence}`)).toEqual(['pr-1#1', 'pr-1#2', 'pr-2#1', 'pr-3#1']);
      const [first, second, other, third] = claimed;

      const leases = await dialect.acquire(exec, 'relay-p', [first!.shard, other!.shard], 60_000);
      expect(await dialect.renew(exec, 'relay-p', leases, 60_000)).toEqual(leases);
      await connection.beginTransaction();
      expect(await lostShards(dialect, exec, 'relay-p', leases)).toEqual([]);
      expect(await dialect.markPublished(exec, [first!.id, second!.id], true)).toBe(2);
      await dialect.markFailed(exec, other!.id, 'nope', 0);
      await dialect.quarantine(exec, third!.id, 'poison', 'parked');
      await connection.commit();

      expect((await dialect.claim(exec, ALL_SHARDS, 10)).map((e) => [e.aggregateId, e.attempts])).toEqual([['pr-2', 1]]);
      expect(await dialect.heartbeat(exec, 'relay-p', 60_000)).toEqual(['relay-p']);
      const status = await dialect.status(exec);
      expect(status).toMatchObject({ backlog: 1, quarantined: 1, parkedAggregates: 1 });
      expect(status.shardOwners.map((o) => [o.owner, o.shards])).toEqual([['relay-p', leases.length]]);
      await dialect.release(exec, 'relay-p', [first!.shard]);
      await dialect.leave(exec, 'relay-p');
      expect((await dialect.status(exec)).shardOwners).toEqual([]);
      expect(await dialect.countPending(exec)).toBe(1);
    } finally {
      connection.release();
    }
  });
});
