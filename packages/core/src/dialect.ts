import type { Envelope, StoredEvent } from './envelope.js';
import type { InboxDialect } from './inbox-dialect.js';
import type { HistoryEvent, HistoryQuery, QuarantineEntry, QuarantineResolution } from './operations/types.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';
import type { ResolvedTables } from './tables.js';
import type { WakeSource } from './wake.js';

/**
 * The SQL one database needs, split by who asks for it. Every method takes the executor to run
 * on, so the same dialect serves a writer's transaction, the relay's pool and a fenced relay
 * transaction. All times are the database's clock (`now()`), never the relay's: relays on
 * different hosts agree on expiry.
 *
 * - {@link WriterDialect}: what an ORM plugin or raw-driver writer needs, inside the business transaction.
 * - {@link RelayStore} + {@link LeaseStore}: what a polling relay needs to claim, fence and settle.
 * - {@link OperationsDialect}: what the CLI's replay, quarantine, reconcile and cleanup commands need.
 * - {@link SchemaDialect}: the migrations.
 * - {@link InboxDialect}: the consumer side.
 *
 * A dialect package's factory returns all of them (`Dialect`); each caller types its parameter
 * with the role it uses, so a second kind of source (a log-based CDC reader) adds a role of its
 * own without touching the writers.
 */
export interface Dialect extends WriterDialect, RelayStore, LeaseStore, OperationsDialect, SchemaDialect, InboxDialect {}

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

/** A lease row as read under lock for the fencing check; core decides what it means ({@link shardsNotHeld}). */
export interface LeaseRow {
  readonly shard: number;
  readonly owner: string | null;
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

/** What every role shares: a name for messages and the resolved table names. */
export interface DialectIdentity {
  /** For messages and logs only; code never branches on it. */
  readonly name: string;
  readonly tables: ResolvedTables;
}

/** The writer role: what ORM plugins and raw-driver helpers ask for. */
export interface WriterDialect extends DialectIdentity {
  /** True when `exec` is inside an open transaction. Raw-driver writes refuse to run otherwise. */
  inTransaction(exec: SqlExecutor): Promise<boolean>;
  /**
   * Inside the caller's transaction: upsert each aggregate's sequence, insert the event rows
   * (in the given order), and signal a wake-up where the database supports it. Returns the
   * sequence given to each event. When any statement fails, nothing of the write remains.
   */
  insertEvents(tx: SqlExecutor, events: readonly Envelope[]): Promise<number[]>;
  /** Pending events in the database. Used by the producer-side `maxBacklog` guard and `status`. */
  countPending(exec: SqlExecutor): Promise<number>;
}

/** The relay-store role: the polling relay's claim and settle statements. */
export interface RelayStore extends DialectIdentity {
  /**
   * Pending, available events of `shards`, in position order, at most `limit`. An aggregate
   * whose earlier event is backing off, or that is parked, contributes nothing, so the relay
   * can never overtake an earlier event of the same aggregate. `exclude`: ids left out, those of
   * a batch whose settle transaction has not committed yet (its rows still look pending).
   */
  claim(exec: SqlExecutor, shards: readonly number[], limit: number, exclude?: readonly string[]): Promise<StoredEvent[]>;
  /**
   * Inside a transaction: reads the lease rows of `shards`, locked against takeover until
   * commit (shared lock where the database has row locks). Core compares them with what the
   * relay believes it holds.
   */
  lockLeaseRows(tx: SqlExecutor, shards: readonly number[]): Promise<LeaseRow[]>;
  /** Removes confirmed events from the pending table, copying them to history when `keepHistory`. */
  markPublished(tx: SqlExecutor, ids: readonly string[], keepHistory: boolean): Promise<number>;
  /** Records a permanent failure: attempts + 1, last error, available again after `retryInMs`. */
  markFailed(tx: SqlExecutor, id: string, error: string, retryInMs: number): Promise<void>;
  /** Moves an event to quarantine with its reason; `status: 'parked'` holds back its aggregate. */
  quarantine(tx: SqlExecutor, id: string, reason: string, status: 'parked' | 'dead-lettered'): Promise<void>;
  /** Backlog, oldest age, shard owners and quarantine counts, for `status` and metrics. */
  status(exec: SqlExecutor): Promise<OutboxStatus>;
}

/** The lease role: relay membership and shard ownership. */
export interface LeaseStore {
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
}

/**
 * The statements one database runs to resolve a quarantined event; core's
 * `resolveQuarantined` drives them in one transaction.
 */
export interface QuarantineStatements {
  /** The row's status, read under a row lock where the database has row locks; undefined when absent. */
  lockQuarantined(tx: SqlExecutor, id: string): Promise<QuarantineStatus | undefined>;
  /**
   * Puts the event back into the pending table at its ORIGINAL position with attempts 0 and no
   * backoff; its `expiresAt` is kept (a still-expired event is quarantined again) unless
   * `ignoreExpiry`, which clears it so the relay publishes the event however late.
   */
  restoreQuarantined(tx: SqlExecutor, id: string, ignoreExpiry: boolean): Promise<void>;
  /** Records the resolution (status, who, why, when); `retried` and `skipped` both un-park the aggregate. */
  markQuarantineResolved(tx: SqlExecutor, id: string, status: 'retried' | 'skipped', resolution: QuarantineResolution): Promise<void>;
}

/** The operations role (`outbox-relay replay | quarantine | reconcile | cleanup | status`). */
export interface OperationsDialect extends DialectIdentity, QuarantineStatements {
  /** The database clock. Relative times (`--since 2h`) and retention cutoffs use it, like every stored time. */
  currentTime(exec: SqlExecutor): Promise<Date>;
  /** At most `limit` history rows matching `query`, in position order, after `query.afterPosition`. */
  readHistory(exec: SqlExecutor, query: HistoryQuery, limit: number): Promise<HistoryEvent[]>;
  /** Quarantine rows, oldest first: open ones (`parked`, `dead-lettered`), plus resolved ones when `includeResolved`. */
  listQuarantine(exec: SqlExecutor, options: { includeResolved: boolean; limit: number }): Promise<QuarantineEntry[]>;
  /**
   * Deletes at most `limit` history rows published before `cutoff`, oldest first, in one short
   * statement or transaction, and returns how many it deleted. Call it until it returns less
   * than `limit`.
   */
  deleteHistoryBefore(exec: SqlExecutor, cutoff: Date, limit: number): Promise<number>;
  /** Backlog, oldest age, shard owners and quarantine counts. */
  status(exec: SqlExecutor): Promise<OutboxStatus>;
}

/** The schema role: migrations for `outbox-relay migrate` and DBAs. */
export interface SchemaDialect extends DialectIdentity {
  /** The versioned migrations, for `migrate --print` and DBAs. */
  migrations(): readonly Migration[];
  /**
   * One statement, with literal values, that records `migration` as applied in the migrations
   * table, and does nothing when it is recorded already. `migrate --print` ends every migration
   * with it, so a script applied by another tool (a Prisma migration, a DBA) is recognised by
   * `migrate` afterwards, and the script still runs on a database `migrate` already set up.
   */
  recordMigration(migration: Migration): string;
  /** Applies the migrations not yet applied; safe to run from several processes. Returns applied versions. */
  migrate(db: SqlDatabase): Promise<number[]>;
}

/** Options every dialect package's relay connector takes. */
export interface RelayDatabaseOptions {
  readonly tables?: import('./tables.js').TableOptions;
  /** Open the database's cross-process wake-up connection where it has one (only `run` needs it). */
  readonly listen?: boolean;
  /** Where a lost idle or wake-up connection is reported (the relay keeps polling meanwhile). */
  readonly warn?: (message: string, details: object) => void;
  /**
   * Bounds on the pool's sessions: lock waits and idle time inside a transaction
   * ({@link relaySessionLimits} of the lease TTL). Absent: the database's defaults.
   */
  readonly sessionLimits?: import('./session-limits.js').RelaySessionLimits;
}

/** A database the relay can work on: its dialect, a pool, and the wake-up sources it offers. */
export interface RelayDatabase {
  readonly dialect: Dialect;
  readonly database: SqlDatabase;
  /** Cross-process wake-ups the database offers (PostgreSQL LISTEN); empty elsewhere. */
  readonly wakeSources: readonly WakeSource[];
}

/**
 * What each dialect package exports as `relayConnector`, so the relay binary loads a database
 * by URL scheme without knowing its package's internals.
 */
export interface RelayConnector {
  /** URL schemes this package serves, e.g. `['postgres:', 'postgresql:']`. */
  readonly schemes: readonly string[];
  /**
   * How one relay process serves many tenants on this database (`outbox-relay run --tenants`):
   * `'schema'`: every tenant's tables live in its own schema (PostgreSQL) or database (MySQL),
   * all reached through one pool with schema-qualified tables; `'file'`: every tenant is its own
   * database file in the directory {@link tenantDirectory} names, each opened on its own.
   */
  readonly tenancy: 'schema' | 'file';
  /** `'file'` tenancy: the directory a `--database-url` names, where the tenants' files are. */
  tenantDirectory?(url: string): string;
  /** The dialect for `url`, without any I/O (enough for `migrate --print`). */
  dialect(url: string, options: RelayDatabaseOptions): Dialect;
  /** Connects: a pool for the relay, and the wake-up sources the database offers when `listen`. */
  open(url: string, options: RelayDatabaseOptions): Promise<RelayDatabase>;
  /** The database's change-log source (`run --source logical`), where it has one. */
  readonly logical?: import('./logical-source.js').LogicalSourceConnector;
}
