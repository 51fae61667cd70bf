import { deleteInBatches, inboxOperationsOf, parseDuration } from '@outboxkit/core';
import { openDatabase } from '../connect.js';
import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';
import { OPERATOR_SESSION_LIMITS, rangeFlag, type CommandOutput } from './operations-shared.js';

export interface CleanupFlags extends DatabaseFlags {
  historyRetention?: string;
  inboxRetention?: string;
  batchSize?: number;
}

export interface CleanupResult {
  readonly historyDeleted: number;
  /** Null when inbox cleanup was off or the dialect has no inbox. */
  readonly inboxDeleted: number | null;
}

export const CLEANUP_DEFAULTS = Object.freeze({ historyRetention: '7d', inboxRetention: '14d', batchSize: 1000 });

/**
 * `outbox-relay cleanup`: deletes history rows published before the history retention and
 * inbox rows processed before the inbox retention, in small batches (each its own short
 * statement or transaction). Safe to run from several places at once: where the database can
 * skip locked rows, instances split the work; elsewhere they take turns.
 *
 * @example
 * outbox-relay cleanup --history-retention 7d --inbox-retention 14d
 */
export async function cleanupCommand(flags: CleanupFlags, io: CommandOutput): Promise<CleanupResult> {
  const historyMs = retention(flags.historyRetention ?? CLEANUP_DEFAULTS.historyRetention, '--history-retention');
  const inboxMs = retention(flags.inboxRetention ?? CLEANUP_DEFAULTS.inboxRetention, '--inbox-retention');
  const batchSize = rangeFlag(flags.batchSize, '--batch-size', CLEANUP_DEFAULTS.batchSize, 1, 100_000);
  if (historyMs !== null && inboxMs !== null && inboxMs < historyMs) {
    // A replay can reach back as far as history is kept; inbox rows must outlive that or
    // replayed events look new to consumers and are applied twice.
    io.err(`cleanup: warning: --inbox-retention is shorter than --history-retention; events replayed from older history would be processed again by consumers`);
  }

  const target = await openDatabase(requireDatabaseUrl(flags), { tables: tableOptions(flags), sessionLimits: OPERATOR_SESSION_LIMITS });
  try {
    const { dialect, database } = target;
    // Database clock: stored times are database times, whatever this machine's clock says.
    const now = await dialect.currentTime(database);
    const parts: string[] = [];
    let historyDeleted = 0;
    if (historyMs !== null) {
      const cutoff = new Date(now.getTime() - historyMs);
      const result = await deleteInBatches(
        (limit) => dialect.deleteHistoryBefore(database, cutoff, limit),
        batchSize,
        (total) => io.err(`cleanup: ${total} history row(s) deleted so far`),
      );
      historyDeleted = result.deleted;
      parts.push(`${historyDeleted} history row(s) published before ${cutoff.toISOString()}`);
    }
    let inboxDeleted: number | null = null;
    if (inboxMs !== null) {
      const inbox = inboxOperationsOf(dialect);
      if (inbox === null) {
        io.err(`cleanup: the ${dialect.name} dialect has no inbox support here; inbox rows were not touched`);
      } else {
        const cutoff = new Date(now.getTime() - inboxMs);
        const result = await deleteInBatches(
          (limit) => inbox.deleteInboxBefore(database, cutoff, limit),
          batchSize,
          (total) => io.err(`cleanup: ${total} inbox row(s) deleted so far`),
        );
        inboxDeleted = result.deleted;
        parts.push(`${inboxDeleted} inbox row(s) processed before ${cutoff.toISOString()}`);
      }
    }
    io.out(parts.length === 0 ? 'cleanup: nothing to do (both retentions are off)' : `cleanup: deleted ${parts.join(' and ')}`);
    return { historyDeleted, inboxDeleted };
  } finally {
    await target.database.close();
  }
}

/** A retention duration, or null for `off` (keep everything). */
function retention(value: string, flag: string): number | null {
  return value.trim().toLowerCase() === 'off' ? null : parseDuration(value, flag);
}
