import {
  isLogicalReaderOwner,
  OutboxConfigError,
  OutboxError,
  type LogicalReader,
  type LogicalReaderOptions,
  type LogicalSlotStatus,
  type LogicalSourceConnector,
  type LogicalSourceNames,
  type OutboxStatus,
} from '@outboxkit/core';
import { relayConnectorFor, type DatabaseTarget } from '../connect.js';
import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';
import { RELAY_OPTION_FLAGS, underFlag } from '../flag-errors.js';

/** Where `run` reads committed events from. */
export type RelaySource = 'poll' | 'logical';

export interface LogicalFlags extends DatabaseFlags {
  /** Replication slot (default derived from the events table). */
  slot?: string;
  /** Publication (default derived from the events table). */
  publication?: string;
}

export function logicalNames(flags: LogicalFlags): LogicalSourceNames {
  return { ...(flags.slot !== undefined ? { slot: flags.slot } : {}), ...(flags.publication !== undefined ? { publication: flags.publication } : {}) };
}

/** The database's log-based source, or a config error naming the databases that have one. */
export async function logicalSourceFor(url: string): Promise<LogicalSourceConnector> {
  const logical = (await relayConnectorFor(url)).logical;
  if (logical === undefined) {
    throw new OutboxConfigError(
      '--source',
      "'logical' reads PostgreSQL's logical replication (postgres://) or the MySQL/MariaDB row binlog (mysql://, mariadb://); SQLite has no change log the relay reads, use --source poll",
    );
  }
  return logical;
}

/**
 * Polling and a log-based reader on one table would both publish every event. The shard leases
 * already keep them from publishing the same shard at once, but a polling relay would then stand
 * by unseen; so each refuses to start while the other kind holds a lease, with the fix.
 */
export function refuseMixedSources(source: RelaySource, status: OutboxStatus): void {
  const other = status.shardOwners.filter((owner) => isLogicalReaderOwner(owner.owner) !== (source === 'logical'));
  if (other.length === 0) return;
  const names = other.map((owner) => owner.owner).join(', ');
  throw new OutboxError(
    'OUTBOX_SOURCE_CONFLICT',
    source === 'poll'
      ? `a logical-replication reader (${names}) is publishing this outbox table; stop it before polling, or start this relay with --source logical to stand by`
      : `polling relays (${names}) are publishing this outbox table; stop them (their leases must expire or be released) before starting --source logical, or run this relay with --source poll`,
  );
}

/** `outbox-relay setup-logical`: creates the publication and the replication slot (PostgreSQL) or checks the binlog settings and creates the checkpoint (MySQL/MariaDB) when absent. */
export async function setupLogicalCommand(flags: LogicalFlags, out: (line: string) => void): Promise<void> {
  const url = requireDatabaseUrl(flags);
  const result = await (await logicalSourceFor(url)).setup(url, { tables: tableOptions(flags), ...logicalNames(flags) });
  if (result.lines !== undefined) {
    for (const line of result.lines) out(line);
    return;
  }
  out(`publication ${result.publication}: ${result.publicationCreated ? 'created' : 'exists'}`);
  out(`replication slot ${result.slot}: ${result.slotCreated ? 'created' : 'exists'}`);
}

/** The slot lines of `outbox-relay status`, or none for a database without a log-based source or slot. */
export async function slotStatusFor(flags: LogicalFlags): Promise<LogicalSlotStatus | null> {
  const url = requireDatabaseUrl(flags);
  const logical = (await relayConnectorFor(url)).logical;
  return logical === undefined ? null : logical.slotStatus(url, { tables: tableOptions(flags), ...logicalNames(flags) });
}

export function formatSlotStatus(slot: LogicalSlotStatus): string[] {
  if (slot.source === 'binlog') {
    return [
      `binlog checkpoint   ${slot.slot} (${slot.active ? 'a binlog dump connection is open' : 'inactive: no binlog reader connected'})`,
      `  checkpoint        ${slot.confirmedLsn}`,
      `  lag               ${slot.lagBytes} byte(s) of binlog behind the current position`,
      `  lag (time)        ${slot.lagSeconds.toFixed(1)} s: the oldest unpublished event's wait (0 when caught up)`,
      `  binlog needed     ${slot.retainedWalBytes} byte(s) from the checkpoint's file on`,
    ];
  }
  return [
    `replication slot    ${slot.slot} (${slot.active ? 'active' : 'inactive: no reader streaming'})`,
    `  confirmed LSN     ${slot.confirmedLsn}`,
    `  lag               ${slot.lagBytes} byte(s) of WAL behind the current position`,
    `  lag (time)        ${slot.lagSeconds.toFixed(1)} s: the oldest unpublished event's wait (0 when caught up)`,
    `  WAL retained      ${slot.retainedWalBytes} byte(s)`,
  ];
}

/** The log-based reader of `run --source logical` (not started). */
export async function logicalReaderFor(url: string, target: DatabaseTarget, options: LogicalReaderOptions): Promise<LogicalReader> {
  const logical = await logicalSourceFor(url);
  try {
    return logical.reader(url, target, options);
  } catch (error) {
    throw underFlag(error, RELAY_OPTION_FLAGS);
  }
}
