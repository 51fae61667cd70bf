import { shardsNotHeld, type Lease, type RelayStore, type SqlExecutor } from '@outboxkit/core';

/**
 * The relay's fencing check as one call, for dialect tests: inside `tx`, locks the lease rows of
 * `leases` with the dialect's `lockLeaseRows` and returns the shards `relayId` no longer holds,
 * decided by core's `shardsNotHeld` exactly as the relay decides it.
 *
 * @example
 * expect(await db.transaction((tx) => lostShards(dialect, tx, 'relay-a', held))).toEqual([]);
 */
export async function lostShards(store: Pick<RelayStore, 'lockLeaseRows'>, tx: SqlExecutor, relayId: string, leases: readonly Lease[]): Promise<number[]> {
  if (leases.length === 0) return [];
  return shardsNotHeld(
    relayId,
    leases,
    await store.lockLeaseRows(
      tx,
      leases.map((lease) => lease.shard),
    ),
  );
}
