import type { Lease, RelayStore } from './dialect.js';
import { shardsNotHeld } from './leases.js';
import type { SqlExecutor } from './sql.js';

/**
 * Inside a relay transaction: locks the lease rows of `leases` against takeover until commit
 * and returns the shards this relay no longer holds (empty = it may still mark their events).
 * The dialect reads the rows; the decision is core's ({@link shardsNotHeld}).
 */
export async function lostShards(
  store: Pick<RelayStore, 'lockLeaseRows'>,
  tx: SqlExecutor,
  relayId: string,
  leases: readonly Lease[],
): Promise<number[]> {
  if (leases.length === 0) return [];
  const rows = await store.lockLeaseRows(tx, leases.map((lease) => lease.shard));
  return shardsNotHeld(relayId, leases, rows);
}
