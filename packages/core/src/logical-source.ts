import type { RelayDatabase, RelayDatabaseOptions } from './dialect.js';
import type { RelayHealth } from './relay.js';
import type { RelayOptions } from './relay-options.js';

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

/** Where a log-based source reads from: a replication slot and the publication it decodes. */
export interface LogicalSourceNames {
  /** Replication slot name (lowercase letters, digits, `_`). Default: derived from the events table. */
  readonly slot?: string;
  /** Publication name. Default: derived from the events table. */
  readonly publication?: string;
}

/** The replication slot behind a log-based source, for metrics and `outbox-relay status`. */
export interface LogicalSlotStatus {
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
  /** The slot's confirmed flush LSN, e.g. `0/16B3748`. */
  readonly confirmedLsn: string;
}

/** What the setup step did; both steps are idempotent. */
export interface LogicalSetupResult {
  readonly publication: string;
  readonly slot: string;
  readonly publicationCreated: boolean;
  readonly slotCreated: boolean;
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

/** An LSN (`X/Y`, two hexadecimal halves) as a number of bytes, exact below 2^53 (petabytes of WAL). */
export function lsnToNumber(lsn: string): number {
  const [high, low] = lsn.split('/');
  return Number.parseInt(high ?? '0', 16) * 0x1_0000_0000 + Number.parseInt(low ?? '0', 16);
}
