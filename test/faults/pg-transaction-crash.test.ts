// Found by scenario 6 (private PostgreSQL stopped with -m immediate mid-run): a pooled client
// checked out for a transaction has no 'error' listener (pg-pool listens only while a client is
// idle), so a server crash between two statements of the transaction emitted an unhandled
// 'error' event — an uncaught exception that kills the writer's (or the relay's) process. The
// transaction must reject instead, and the pool must go on working once the server is back.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool, pgDatabase } from '@outboxkit/postgres';
import { startPostgresCluster, type PostgresCluster } from '../../packages/testkit/src/servers/index.js';

describe('pgDatabase transaction across a PostgreSQL crash (private cluster)', () => {
  let cluster: PostgresCluster;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown): void => void uncaught.push(error);

  beforeAll(async () => {
    cluster = await startPostgresCluster();
    process.on('uncaughtException', onUncaught);
  }, 90_000);

  afterAll(async () => {
    process.off('uncaughtException', onUncaught);
    await cluster?.dispose();
  }, 60_000);

  it('a crash between two statements rejects the transaction; nothing is thrown at the process; the pool recovers', async () => {
    const db = pgDatabase(createPgPool(cluster.url, { max: 2 }));
    try {
      const outcome = db.transaction(async (tx) => {
        await tx.query('SELECT 1');
        await cluster.stop('immediate');
        // Give the socket's end a chance to arrive while no statement is running.
        await new Promise((resolve) => setTimeout(resolve, 500));
        await tx.query('SELECT 2');
      });
      await expect(outcome).rejects.toThrow();
      await new Promise((resolve) => setImmediate(resolve));
      expect(uncaught.map(String)).toEqual([]);
      await cluster.start();
      const { rows } = await db.query<{ x: number }>('SELECT 42 AS x');
      expect(rows).toEqual([{ x: 42 }]);
    } finally {
      await db.close();
    }
  }, 90_000);
});
