// The relay's sessions against a session that holds lease rows inside an open transaction (a
// relay paused inside its settle transaction): acquisition takes every other shard at once, the
// server ends the idle transaction (the relay connector's session limits), the shard moves with a
// new epoch, and the paused relay's transaction can mark nothing.
import { afterEach, describe, expect, it } from 'vitest';
import { relaySessionLimits, shardOf, shardsNotHeld, writeEvents, type Lease } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import { waitUntil } from './faults/harness.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './support/databases.js';

/** An aggregate id whose events land in `shard`. */
function aggregateIn(shard: number): string {
  for (let i = 0; ; i++) if (shardOf('limits', `a-${i}`) === shard) return `a-${i}`;
}

describe.each(['PostgreSQL', 'MariaDB'] as const satisfies readonly DatabaseKind[])('relay session limits (%s)', (kind) => {
  let db: TestDatabase | undefined;
  const targets: DatabaseTarget[] = [];
  afterEach(async () => {
    for (const target of targets.splice(0)) await target.database.close().catch(() => undefined);
    await db?.dispose();
    db = undefined;
  });

  it('acquire skips a lease row held inside another transaction; the server ends that transaction when it idles past the limit; the zombie marks nothing', async () => {
    db = await createTestDatabase(kind);
    // A's idle limit is long enough for B's first acquire to run while A's transaction is alive.
    const open = async (idleMs: number): Promise<DatabaseTarget> => {
      const target = await openDatabase(db!.url, { tables: db!.schema ? { schema: db!.schema } : {}, sessionLimits: { ...relaySessionLimits(idleMs) } });
      targets.push(target);
      return target;
    };
    const a = await open(3000);
    const b = await open(3000);
    await a.dialect.migrate(a.database);
    const shard = 7;
    // A held shard 7 with a lease that has run out, and has one of its events confirmed, unmarked.
    await a.dialect.acquire(a.database, 'relay-a', [shard], 200);
    const held: Lease[] = [{ shard, epoch: 1 }];
    const [event] = await a.database.transaction((tx) =>
      writeEvents(a.dialect, tx, { aggregateType: 'limits', aggregateId: aggregateIn(shard), type: 't', payload: {} }),
    );
    await waitUntil("A's lease to expire", () => leaseExpired(b, shard), 30_000);

    // A's settle transaction locks its lease row, then A "freezes" (awaits without a statement).
    let resume: () => void = () => undefined;
    const resumed = new Promise<void>((resolve) => (resume = resolve));
    let lockedRows: unknown;
    let locked: () => void = () => undefined;
    const lockTaken = new Promise<void>((resolve) => (locked = resolve));
    const zombie = a.database.transaction(async (tx) => {
      lockedRows = await a.dialect.lockLeaseRows(tx, [shard]);
      locked();
      await resumed;
      return a.dialect.markPublished(tx, [event!.id], false);
    });
    zombie.catch(() => undefined);
    await lockTaken;
    expect(lockedRows).toEqual([{ shard, owner: 'relay-a', epoch: 1 }]);

    // B takes the free shards at once and leaves the locked one (no wait on A's lock).
    expect(await b.dialect.acquire(b.database, 'relay-b', [6, shard, 8], 60_000)).toEqual([
      { shard: 6, epoch: 1 },
      { shard: 8, epoch: 1 },
    ]);

    // Once A's transaction has idled past its limit the server ends it, and B takes shard 7 with a new epoch.
    const taken = await waitUntil(
      'B to take the shard A held locked',
      async () => {
        const leases = await b.dialect.acquire(b.database, 'relay-b', [6, shard, 8], 60_000);
        return leases.some((lease) => lease.shard === shard) && leases;
      },
      30_000,
    );
    expect(taken).toContainEqual({ shard, epoch: 2 });

    // A wakes: its transaction is gone, so its mark fails and nothing was marked.
    resume();
    await expect(zombie).rejects.toThrow();
    expect(await pendingIds(b)).toEqual([event!.id]);
    // A retries its settle in a new transaction: the lease row shows B's epoch, so the fence refuses the mark.
    const rows = await a.database.transaction((tx) => a.dialect.lockLeaseRows(tx, [shard]));
    expect(shardsNotHeld('relay-a', held, rows)).toEqual([shard]);
  });
});

async function leaseExpired(target: DatabaseTarget, shard: number): Promise<boolean> {
  const table = target.dialect.tables.schema === null ? target.dialect.tables.names.leases : qualified(target, 'leases');
  const now = target.dialect.name === 'postgres' ? 'now()' : 'UTC_TIMESTAMP(6)';
  const { rows } = await target.database.query<{ expired: unknown }>(`SELECT expires_at < ${now} AS expired FROM ${table} WHERE shard = ${shard}`);
  return rows[0]?.expired === true || Number(rows[0]?.expired) === 1;
}

async function pendingIds(target: DatabaseTarget): Promise<string[]> {
  const { rows } = await target.database.query<{ id: string }>(`SELECT id FROM ${qualified(target, 'events')}`);
  return rows.map((row) => String(row.id));
}

function qualified(target: DatabaseTarget, name: 'events' | 'leases'): string {
  const { schema, names } = target.dialect.tables;
  return target.dialect.name === 'postgres' ? `"${schema}"."${names[name]}"` : `\`${schema}\`.\`${names[name]}\``;
}
