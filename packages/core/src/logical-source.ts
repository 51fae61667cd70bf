import type { RelayDatabase, RelayDatabaseOptions } from './dialect.js';
import type { StoredEvent } from './envelope.js';
import type { RelayHealth } from './relay.js';
import type { RelayOptions } from './relay-options.js';
import type { SqlExecutor } from './sql.js';

/**
 * Lease owners of a log-based reader carry this prefix, so a polling relay can tell that a
 * change-data-capture reader holds the table's shards (and refuse to start), and the other way
 * round. Relay ids given by users never need it.
 */
export const LOGICAL_READER_PREFIX = 'logical:';

/** The lease owner name of log-based reader `relayId`. */
export function logicalReaderOwner(relayId: string): string {
  return `${LOGICAL_READER_PREFIX}${relayId}`;
}

export function isLogicalReaderOwner(owner: string): boolean {
  return owner.startsWith(LOGICAL_READER_PREFIX);
}

/** Where a log-based source reads from: a replication slot and the publication it decodes (PostgreSQL), or the binlog checkpoint's name (MariaDB). */
export interface LogicalSourceNames {
  /** Replication slot name, or the binlog checkpoint's name (lowercase letters, digits, `_`). Default: derived from the events table. */
  readonly slot?: string;
  /** Publication name (PostgreSQL only). Default: derived from the events table. */
  readonly publication?: string;
}

/** The replication slot (or binlog checkpoint) behind a log-based source, for metrics and `outbox-relay status`. */
export interface LogicalSlotStatus {
  /** `pgoutput`: a PostgreSQL slot (the default when absent); `binlog`: a MariaDB binlog checkpoint. */
  readonly source?: 'pgoutput' | 'binlog';
  readonly slot: string;
  /** A walsender is streaming from the slot right now. */
  readonly active: boolean;
  /** WAL bytes between the server's current position and the slot's confirmed position: what the reader still has to confirm. */
  readonly lagBytes: number;
  /**
   * Seconds the oldest event not yet settled by a reader has waited (the slot is behind by at
   * least that long); 0 when every committed event was published, however much other WAL the
   * slot has not confirmed.
   */
  readonly lagSeconds: number;
  /** WAL bytes the server keeps on disk for this slot (from its restart position). */
  readonly retainedWalBytes: number;
  /** The slot's confirmed flush LSN, e.g. `0/16B3748`; for the binlog, the checkpoint `binlog.000002:645`. */
  readonly confirmedLsn: string;
  /** {@link confirmedLsn} as one increasing number, where it is not an LSN (binlog: file number * 2^32 + position). */
  readonly confirmedOffset?: number;
}

/** What the setup step did; both steps are idempotent. */
export interface LogicalSetupResult {
  readonly publication: string;
  readonly slot: string;
  readonly publicationCreated: boolean;
  readonly slotCreated: boolean;
  /** What `setup-logical` prints, one line each; the PostgreSQL lines (publication, slot) when absent. */
  readonly lines?: readonly string[];
}

/** A running log-based reader: the polling relay's lifecycle, fed by the database's change log. */
export interface LogicalReader {
  readonly id: string;
  /** Waits for the reader role (standing by while another reader holds it), then streams. Returns once it started waiting. */
  start(): Promise<void>;
  /** Finishes the batch in flight, confirms what was settled and gives the leases up. */
  stop(): Promise<void>;
  health(): RelayHealth;
  /** The slot as last sampled (every lease renewal), or null before the first sample. */
  slotStatus(): LogicalSlotStatus | null;
}

/** The options of a log-based reader: the polling relay's, plus the slot names. */
export type LogicalReaderOptions = Omit<RelayOptions, 'dialect' | 'database' | 'wakeSources' | 'pollIntervalMs'> & LogicalSourceNames;

/**
 * A dialect package's log-based source, beside polling (PostgreSQL logical replication). A
 * connector without one offers polling only.
 */
export interface LogicalSourceConnector {
  /** Creates the publication and the replication slot when they do not exist. */
  setup(url: string, options: RelayDatabaseOptions & LogicalSourceNames): Promise<LogicalSetupResult>;
  /** The slot's state, or null when it does not exist. */
  slotStatus(url: string, options: RelayDatabaseOptions & LogicalSourceNames): Promise<LogicalSlotStatus | null>;
  /** A reader on an opened database (its pool settles and holds the leases). */
  reader(url: string, target: RelayDatabase, options: LogicalReaderOptions): LogicalReader;
}

/** What a change stream hands the reader, in log order: committed events, and the end of each transaction that had some. */
export type ChangeItem = { readonly kind: 'event'; readonly event: StoredEvent } | { readonly kind: 'commit'; readonly position: string };

/** Where a change stream delivers, synchronously and in log order. */
export interface ChangeSink {
  item(item: ChangeItem): void;
  /**
   * The log has reached `position` with nothing of the events table before it still to come
   * (a keepalive, or a commit of other tables). `inTransaction`: an events-table transaction is
   * half received. `mustReply`: the server asks for the settled position now.
   */
  keepalive(position: string, mustReply: boolean, inTransaction: boolean): void;
}

/** One connection reading a database's change log from a position. */
export interface ChangeStream {
  /** Streams; resolves when stopped, rejects when the connection fails. */
  run(): Promise<void>;
  /** Backpressure: stop reading from the socket (the server waits). */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
  /** Tells the server that everything before `position` is settled (a slot's flush position); a no-op where the checkpoint is a database row. */
  confirm(position: string): void;
}

/**
 * A dialect's change log, as core's {@link ChangeLogReader} drives it: everything that differs
 * between PostgreSQL's slot and MariaDB's binlog. Positions are opaque strings the log compares.
 */
export interface ChangeLog {
  /** Fields for the reader's log lines, e.g. `{ slot, publication }`. */
  readonly describe: Readonly<Record<string, string>>;
  /** Fails with the fix when the server or the setup cannot serve this source; called by start(). */
  check(): Promise<void>;
  /** The status behind the slot metrics and `status`, or null when the slot/checkpoint does not exist. */
  status(): Promise<LogicalSlotStatus | null>;
  /** Called once the reader holds every lease: ends a stale reader's stream and returns the settled position to stream from. */
  resume(): Promise<string>;
  open(from: string, sink: ChangeSink): ChangeStream;
  /** True when `a` is further along the log than `b`. */
  isAfter(a: string, b: string): boolean;
  /**
   * Writes `position` as the checkpoint inside the fenced settle transaction (MariaDB: a row),
   * so it commits with the marks it covers. Absent where the server keeps the checkpoint and
   * {@link ChangeStream.confirm} moves it (a PostgreSQL slot).
   */
  saveCheckpoint?(tx: SqlExecutor, position: string): Promise<void>;
  /**
   * With {@link saveCheckpoint}: how often at most the checkpoint moves past other tables'
   * commits while the outbox is quiet (each move is itself a commit in the log). Default 30 s.
   */
  readonly idleCheckpointMs?: number;
}

/** An LSN (`X/Y`, two hexadecimal halves) as a number of bytes, exact below 2^53 (petabytes of WAL). */
export function lsnToNumber(lsn: string): number {
  const [high, low] = lsn.split('/');
  return Number.parseInt(high ?? '0', 16) * 0x1_0000_0000 + Number.parseInt(low ?? '0', 16);
}
