import type { Lease, LeaseRow, LeaseStore } from './dialect.js';
import type { SqlDatabase } from './sql.js';
import { shardsFor } from './shards.js';

/**
 * The shards one relay holds. Ownership only changes between batches (`rebalance`), so a batch
 * never loses a shard it is in the middle of publishing, except by expiry — and then the
 * fencing check at ack time refuses its marks.
 */
export class LeaseSet {
  private readonly held = new Map<number, number>();
  /** Renewal runs on a timer and rebalancing in the loop; this keeps them from interleaving. */
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dialect: LeaseStore,
    private readonly db: SqlDatabase,
    readonly relayId: string,
    private readonly ttlMs: number,
  ) {}

  get shards(): number[] {
    return [...this.held.keys()].sort((a, b) => a - b);
  }

  /** The leases (with epochs) for the shards of a batch, for the fencing check. */
  leasesFor(shards: Iterable<number>): Lease[] {
    const out: Lease[] = [];
    for (const shard of new Set(shards)) {
      const epoch = this.held.get(shard);
      if (epoch !== undefined) out.push({ shard, epoch });
    }
    return out;
  }

  /**
   * Refreshes membership, gives up shards that now belong to another relay and takes free ones
   * of this relay's share. A shard still leased by its previous live owner is taken later,
   * once that relay releases it at its own next rebalance, or its lease expires.
   */
  rebalance(): Promise<void> {
    return this.exclusive(async () => {
      const live = await this.dialect.heartbeat(this.db, this.relayId, this.ttlMs);
      const index = Math.max(0, live.indexOf(this.relayId));
      const target = new Set(shardsFor(index, Math.max(1, live.length)));
      const surplus = this.shards.filter((shard) => !target.has(shard));
      if (surplus.length > 0) {
        await this.dialect.release(this.db, this.relayId, surplus);
        for (const shard of surplus) this.held.delete(shard);
      }
      this.replace(await this.dialect.acquire(this.db, this.relayId, [...target], this.ttlMs));
    });
  }

  /** Extends the held leases without changing ownership; drops the ones lost to expiry. */
  renew(): Promise<number[]> {
    return this.exclusive(async () => {
      await this.dialect.heartbeat(this.db, this.relayId, this.ttlMs);
      const before = this.shards;
      this.replace(await this.dialect.renew(this.db, this.relayId, this.leasesFor(before), this.ttlMs));
      return before.filter((shard) => !this.held.has(shard));
    });
  }

  forget(shards: Iterable<number>): void {
    for (const shard of shards) this.held.delete(shard);
  }

  leave(): Promise<void> {
    return this.exclusive(async () => {
      this.held.clear();
      await this.dialect.leave(this.db, this.relayId);
    });
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.pending.then(fn, fn);
    this.pending = run.catch(() => undefined);
    return run;
  }

  private replace(leases: readonly Lease[]): void {
    this.held.clear();
    for (const lease of leases) this.held.set(lease.shard, lease.epoch);
  }
}

/**
 * The fencing decision every dialect shares: of the `leases` a relay believes it holds, the
 * shards whose lease row (as read under lock) has another owner or another epoch.
 */
export function shardsNotHeld(relayId: string, leases: readonly Lease[], rows: readonly LeaseRow[]): number[] {
  const current = new Map(rows.map((row) => [row.shard, row]));
  return leases
    .filter((lease) => {
      const row = current.get(lease.shard);
      return row === undefined || row.owner !== relayId || row.epoch !== lease.epoch;
    })
    .map((lease) => lease.shard)
    .sort((a, b) => a - b);
}
