import { backoffDelay } from './backoff.js';
import type { Lease, LeaseRow, RelayStore } from './dialect.js';
import type { StoredEvent } from './envelope.js';
import type { PublishError } from './errors.js';
import { shardsNotHeld } from './leases.js';
import type { ResolvedRelayOptions } from './relay-options.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';

/** What publishing one batch produced that must be written down. */
export interface BatchOutcome {
  /** Events the broker confirmed. */
  readonly confirmed: readonly StoredEvent[];
  /** Permanent failures (properties of the event, not of the broker). */
  readonly failures: readonly { readonly event: StoredEvent; readonly error: PublishError }[];
  /** Events withheld unpublished because their `expiresAt` had passed. */
  readonly expired: readonly StoredEvent[];
}

/** What the relay does with one event of a batch it published. */
export type SettleDecision =
  /** Confirmed: move it to history (or delete it). */
  | { readonly action: 'ack'; readonly event: StoredEvent }
  /** Failed permanently, attempts left: record the error and make it available again after `retryInMs`. */
  | { readonly action: 'fail'; readonly event: StoredEvent; readonly reason: string; readonly retryInMs: number }
  /** Failed permanently for the last allowed time (`poison`), or expired before it was published: quarantine it. */
  | {
      readonly action: 'quarantine';
      readonly event: StoredEvent;
      readonly reason: string;
      readonly status: 'parked' | 'dead-lettered';
      readonly cause: 'poison' | 'expired';
    }
  /** Its shard is no longer this relay's: leave the row alone for the new owner. */
  | { readonly action: 'fenced'; readonly event: StoredEvent };

export interface Settlement {
  /** One decision per event of the outcome: the confirmed ones first, then the failures, each in publish order. */
  readonly decisions: readonly SettleDecision[];
  /** Shards the relay turned out not to hold (sorted); their events were fenced. */
  readonly lostShards: readonly number[];
}

/** The relay options a settlement depends on. */
export type SettlePolicy = Pick<ResolvedRelayOptions, 'maxAttempts' | 'poisonPolicy' | 'retryInitialMs' | 'retryMaxMs'>;

export interface SettleInput extends BatchOutcome {
  readonly relayId: string;
  /** The leases the relay believes it holds for the outcome's shards (shards it does not hold have none). */
  readonly leases: readonly Lease[];
  /** Those leases' rows, read under lock in the transaction that applies the settlement. */
  readonly rows: readonly LeaseRow[];
}

/** The shards of an outcome's events: the lease rows the settling transaction must lock. */
export function touchedShards(outcome: BatchOutcome): Set<number> {
  return new Set([...outcome.confirmed, ...outcome.failures.map((failure) => failure.event), ...outcome.expired].map((event) => event.shard));
}

/**
 * The settle decision, without I/O: an event of a shard whose lease row shows another owner or
 * epoch, or that the relay holds no lease for any more, is fenced whatever its outcome; a
 * confirmed one is acked; a permanent failure gets backoff (full jitter from `random`) until
 * its attempts reach `maxAttempts`, then quarantine as `poisonPolicy` says; an expired event is
 * quarantined at once as `poisonPolicy` says, reason `expired: ...`.
 */
export function decideSettlement(input: SettleInput, policy: SettlePolicy, random: () => number = Math.random): Settlement {
  const held = new Set(input.leases.map((lease) => lease.shard));
  const lost = new Set(shardsNotHeld(input.relayId, input.leases, input.rows));
  for (const shard of touchedShards(input)) if (!held.has(shard)) lost.add(shard);
  const fenced = (event: StoredEvent): boolean => lost.has(event.shard);

  const decisions: SettleDecision[] = input.confirmed.map((event) => (fenced(event) ? { action: 'fenced', event } : { action: 'ack', event }));
  const status = policy.poisonPolicy === 'park' ? 'parked' : 'dead-lettered';
  for (const { event, error } of input.failures) {
    if (fenced(event)) {
      decisions.push({ action: 'fenced', event });
      continue;
    }
    const attempts = event.attempts + 1;
    const reason = `${error.reason}: ${error.message}`;
    if (attempts >= policy.maxAttempts) {
      decisions.push({ action: 'quarantine', event, reason, status, cause: 'poison' });
    } else {
      decisions.push({ action: 'fail', event, reason, retryInMs: backoffDelay(attempts, policy.retryInitialMs, policy.retryMaxMs, random) });
    }
  }
  for (const event of input.expired) {
    decisions.push(fenced(event) ? { action: 'fenced', event } : { action: 'quarantine', event, reason: expiredReason(event), status, cause: 'expired' });
  }
  return { decisions, lostShards: [...lost].sort((a, b) => a - b) };
}

/** The quarantine reason of an expired event; `expired:` first, like `unroutable:` for a poison one. */
export function expiredReason(event: StoredEvent): string {
  return `expired: the event expired at ${event.expiresAt?.toISOString()} before it was published`;
}

/**
 * Writes a settlement inside `tx`, the transaction that locked the lease rows it was decided
 * on: the acks in one statement, then each failure. Fenced events are not touched. Returns how
 * many acked events' rows were found and marked.
 */
export async function applySettlement(store: RelayStore, tx: SqlExecutor, settlement: Settlement, keepHistory: boolean): Promise<number> {
  const acked = settlement.decisions.filter((decision) => decision.action === 'ack').map((decision) => decision.event.id);
  const marked = acked.length > 0 ? await store.markPublished(tx, acked, keepHistory) : 0;
  for (const decision of settlement.decisions) {
    if (decision.action === 'quarantine') await store.quarantine(tx, decision.event.id, decision.reason, decision.status);
    else if (decision.action === 'fail') await store.markFailed(tx, decision.event.id, decision.reason, decision.retryInMs);
  }
  return marked;
}

/**
 * Decides and writes `outcome` in ONE transaction that first locks the lease rows of its shards
 * (fencing): events of a shard the relay no longer owns are left alone for the new owner. The
 * polling relay and the change-log readers settle every batch through it; `alsoInTransaction`
 * (a binlog checkpoint) runs after the marks, in the same transaction.
 */
export async function settleFenced(
  store: RelayStore,
  db: SqlDatabase,
  relayId: string,
  leases: readonly Lease[],
  outcome: BatchOutcome,
  policy: SettlePolicy & { readonly keepHistory: boolean },
  alsoInTransaction?: (tx: SqlExecutor, settlement: Settlement, marked: number) => Promise<void>,
): Promise<Settlement> {
  return db.transaction(async (tx) => {
    const rows =
      leases.length === 0
        ? []
        : await store.lockLeaseRows(
            tx,
            leases.map((lease) => lease.shard),
          );
    const decided = decideSettlement({ relayId, confirmed: outcome.confirmed, failures: outcome.failures, expired: outcome.expired, leases, rows }, policy);
    const marked = await applySettlement(store, tx, decided, policy.keepHistory);
    // Under the same lease-row locks: a change-log reader's checkpoint commits with its marks, or neither does.
    await alsoInTransaction?.(tx, decided, marked);
    return decided;
  });
}

/** How many events got each decision, and how many of the quarantined had expired. */
export type DecisionCounts = Record<SettleDecision['action'] | 'expired', number>;

export function countDecisions(settlement: Settlement): DecisionCounts {
  const counts = { ack: 0, fail: 0, quarantine: 0, expired: 0, fenced: 0 };
  for (const decision of settlement.decisions) {
    counts[decision.action]++;
    if (decision.action === 'quarantine' && decision.cause === 'expired') counts.expired++;
  }
  return counts;
}
