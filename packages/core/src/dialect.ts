import type { Envelope, StoredEvent } from './envelope.js';
import type { HistoryEvent, HistoryQuery, QuarantineEntry, QuarantineOutcome, QuarantineResolution } from './operations/types.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';
import type { ResolvedTables } from './tables.js';

/**
 * What differs between databases, as flags: code (and the conformance suite) branch on these,
 * never on a database name.
 */
export interface DialectCapabilities {
  /** Row locks can be skipped (`FOR UPDATE SKIP LOCKED`), so concurrent claims never wait. */
  readonly supportsSkipLocked: boolean;
  /** A commit can wake relays in other processes through the database (LISTEN/NOTIFY). */
  readonly supportsNotify: boolean;
  /** The whole database has one writer at a time (SQLite): leases are the only coordination. */
  readonly singleWriter: boolean;
}

/** One versioned schema step. Statements are idempotent (`IF NOT EXISTS`), so re-running is safe. */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly statements: readonly string[];
}

/** A shard held by a relay, with the epoch that fences its writes. */
export interface Lease {
  readonly shard: number;
  readonly epoch: number;
}

/** Why an event sits in quarantine and what has been done about it. */
export type QuarantineStatus = 'parked' | 'dead-lettered' | 'retried' | 'skipped';

export interface OutboxStatus {
  /** Pending events. */
  readonly backlog: number;
  /** Age of the oldest pending event in seconds, or null when nothing is pending. */
  readonly oldestPendingAgeSeconds: number | null;
  readonly shardOwners: readonly { owner: string; shards: number; expiresInSeconds: number }[];
  readonly quarantined: number;
  readonly parkedAggregates: number;
}

/**
 * The SQL one database needs. Every method takes the executor to run on, so the same dialect
 * serves a writer's transaction, the relay's pool and a fenced relay transaction. All times are
 * the database's clock (`now()`), never the relay's: relays on different hosts agree on expiry.
 */
export interface Dialect {
  /** For messages and logs only. */
  readonly name: string;
  readonly capabilities: DialectCapabilities;
  readonly tables: ResolvedTables;

  /** The versioned migrations, for `migrate --print` and DBAs. */
  migrations(): readonly Migration[];
  /** Applies the migrations not yet applied; safe to run from several processes. Returns applied versions. */
  migrate(db: SqlDatabase): Promise<number[]>;

  /** True when `exec` is inside an open transaction. Raw-driver writes refuse to run otherwise. */
  inTransaction(exec: SqlExecutor): Promise<boolean>;
  /**
   * Inside the caller's transaction: upsert each aggregate's sequence, insert the event rows
   * last (in the given order), and signal a wake-up where the database supports it. Returns
   * the sequence given to each event.
   */
  insertEvents(tx: SqlExecutor, events: readonly Envelope[]): Promise<number[]>;
  /** Pending events in the database. Used by the producer-side `maxBacklog` guard and `status`. */
  countPending(exec: SqlExecutor): Promise<number>;

  /**
   * Pending, available events of `shards`, in position order, at most `limit`. An aggregate
   * whose earlier event is backing off, or that is parked, contributes nothing, so the relay
   * can never overtake an earlier event of the same aggregate.
   */
  claim(exec: SqlExecutor, shards: readonly number[], limit: number): Promise<StoredEvent[]>;
  /**
   * Inside a transaction: locks the lease rows of `leases` against takeover until commit and
   * returns the shards whose owner, epoch or expiry no longer match (empty = still the owner).
   */
  fence(tx: SqlExecutor, relayId: string, leases: readonly Lease[]): Promise<number[]>;
  /** Removes confirmed events from the pending table, copying them to history when `keepHistory`. */
  markPublished(tx: SqlExecutor, ids: readonly string[], keepHistory: boolean): Promise<number>;
  /** Records a permanent failure: attempts + 1, last error, available again after `retryInMs`. */
  markFailed(tx: SqlExecutor, id: string, error: string, retryInMs: number): Promise<void>;
  /** Moves an event to quarantine with its reason; `status: 'parked'` holds back its aggregate. */
  quarantine(tx: SqlExecutor, id: string, reason: string, status: 'parked' | 'dead-lettered'): Promise<void>;

  /** Registers or refreshes `relayId` as a live relay; returns the live relay ids, sorted. */
  heartbeat(exec: SqlExecutor, relayId: string, ttlMs: number): Promise<string[]>;
  /** Takes those of `shards` that are free, expired or already ours (bumping the epoch of taken ones); returns what it holds. */
  acquire(exec: SqlExecutor, relayId: string, shards: readonly number[], ttlMs: number): Promise<Lease[]>;
  /** Extends held leases (same epoch); returns those still held. */
  renew(exec: SqlExecutor, relayId: string, leases: readonly Lease[], ttlMs: number): Promise<Lease[]>;
  /** Gives shards up so another relay can take them at once. */
  release(exec: SqlExecutor, relayId: string, shards: readonly number[]): Promise<void>;
  /** Releases every shard and removes the relay from the live set. */
  leave(exec: SqlExecutor, relayId: string): Promise<void>;

  status(exec: SqlExecutor): Promise<OutboxStatus>;

  // --- operations (`outbox-relay replay | quarantine | reconcile | cleanup`) ---

  /** The database clock. Relative times (`--since 2h`) and retention cutoffs use it, like every stored time. */
  currentTime(exec: SqlExecutor): Promise<Date>;
  /** At most `limit` history rows matching `query`, in position order, after `query.afterPosition`. */
  readHistory(exec: SqlExecutor, query: HistoryQuery, limit: number): Promise<HistoryEvent[]>;
  /** Quarantine rows, oldest first: open ones (`parked`, `dead-lettered`), plus resolved ones when `includeResolved`. */
  listQuarantine(exec: SqlExecutor, options: { includeResolved: boolean; limit: number }): Promise<QuarantineEntry[]>;
  /**
   * Inside a transaction: moves an open quarantined event back to the pending table with its
   * ORIGINAL position (so it goes before later events of its aggregate), attempts 0 and no
   * backoff, and marks the quarantine row `retried` with who/when/why, which un-parks the aggregate.
   */
  retryQuarantined(tx: SqlExecutor, id: string, resolution: QuarantineResolution): Promise<QuarantineOutcome>;
  /** Inside a transaction: marks an open quarantined event `skipped` with who/when/why; its aggregate continues without it. */
  skipQuarantined(tx: SqlExecutor, id: string, resolution: QuarantineResolution): Promise<QuarantineOutcome>;
  /**
   * Deletes at most `limit` history rows published before `cutoff`, oldest first, in one short
   * statement or transaction (skipping rows another cleanup holds where `supportsSkipLocked`),
   * and returns how many it deleted. Call it until it returns less than `limit`.
   */
  deleteHistoryBefore(exec: SqlExecutor, cutoff: Date, limit: number): Promise<number>;
}
