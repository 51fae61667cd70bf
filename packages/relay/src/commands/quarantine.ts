import {
  OPEN_QUARANTINE_STATUSES,
  OutboxConfigError,
  OutboxError,
  resolveQuarantined,
  storableText,
  type QuarantineEntry,
  type QuarantineOutcome,
} from '@outboxkit/core';
import { openDatabase } from '../connect.js';
import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';
import { defaultOperator, eventIds, nameFlag, rangeFlag, type CommandOutput } from './operations-shared.js';

export interface QuarantineListFlags extends DatabaseFlags {
  json?: boolean;
  all?: boolean;
  limit?: number;
}

export interface QuarantineResolveFlags extends DatabaseFlags {
  by?: string;
  reason?: string;
}

/**
 * `outbox-relay quarantine list`: open quarantine rows (parked / dead-lettered), oldest first;
 * `--all` adds resolved ones with who resolved them and why.
 */
export async function quarantineListCommand(flags: QuarantineListFlags, io: CommandOutput): Promise<QuarantineEntry[]> {
  const limit = rangeFlag(flags.limit, '--limit', 1000, 1, 100_000);
  const target = await openDatabase(requireDatabaseUrl(flags), { tables: tableOptions(flags) });
  try {
    const entries = await target.dialect.listQuarantine(target.database, { includeResolved: flags.all === true, limit });
    if (flags.json) {
      io.out(JSON.stringify(entries, null, 2));
      return entries;
    }
    if (entries.length === 0) {
      io.out(flags.all ? 'quarantine is empty' : 'nothing is quarantined (no parked or dead-lettered events)');
      return entries;
    }
    for (const entry of entries) {
      io.out(
        [
          entry.id,
          `${entry.aggregateType}:${entry.aggregateId}`,
          `#${entry.sequence}`,
          entry.type,
          `attempts=${entry.attempts}`,
          entry.status,
          entry.quarantinedAt.toISOString(),
        ].join('  '),
      );
      io.out(`    reason: ${oneLine(entry.reason)}`);
      if (entry.resolvedAt !== null) {
        io.out(
          `    ${entry.status} by ${entry.resolvedBy ?? '?'} at ${entry.resolvedAt.toISOString()}${entry.resolutionNote ? `: ${oneLine(entry.resolutionNote)}` : ''}`,
        );
      }
    }
    const open = entries.filter((entry) => (OPEN_QUARANTINE_STATUSES as readonly string[]).includes(entry.status)).length;
    io.out(`${entries.length} quarantine row(s), ${open} open${entries.length === limit ? ` (first ${limit}; raise --limit to see more)` : ''}`);
    return entries;
  } finally {
    await target.database.close();
  }
}

/**
 * `outbox-relay quarantine retry <id>...`: puts each event back in the pending table with its
 * original position (before later events of its aggregate) and attempts reset; the aggregate
 * un-parks and the relay publishes it, then the events held back behind it, in order.
 */
export function quarantineRetryCommand(ids: string[], flags: QuarantineResolveFlags, io: CommandOutput): Promise<void> {
  return resolveEach('retry', ids, flags, io);
}

/** `outbox-relay quarantine skip <id>... --reason <why>`: the aggregate continues without those events. */
export function quarantineSkipCommand(ids: string[], flags: QuarantineResolveFlags, io: CommandOutput): Promise<void> {
  if (flags.reason === undefined || flags.reason.trim() === '') {
    throw new OutboxConfigError('--reason', 'is required for skip: say why the event may be dropped (it is stored with the quarantine row)');
  }
  return resolveEach('skip', ids, flags, io);
}

async function resolveEach(action: 'retry' | 'skip', rawIds: string[], flags: QuarantineResolveFlags, io: CommandOutput): Promise<void> {
  const ids = eventIds(rawIds, '<id>');
  const by = nameFlag(flags.by ?? defaultOperator(), '--by');
  const note = flags.reason === undefined ? null : storableText(flags.reason.trim()) || null;
  const target = await openDatabase(requireDatabaseUrl(flags), { tables: tableOptions(flags) });
  const notFound: string[] = [];
  try {
    for (const id of ids) {
      // One short transaction per event: a failure leaves the others as they were decided.
      const result: QuarantineOutcome = await target.database.transaction((tx) =>
        resolveQuarantined(target.dialect, tx, id, action === 'retry' ? 'retried' : 'skipped', { by, note }),
      );
      if (result.outcome === 'done') {
        io.out(action === 'retry' ? `retried ${id}: back in the pending table at its original position (by ${by})` : `skipped ${id} (by ${by})`);
      } else if (result.outcome === 'already-resolved') {
        io.out(`${id} was already ${result.status}; nothing changed`);
      } else {
        notFound.push(id);
      }
    }
  } finally {
    await target.database.close();
  }
  if (notFound.length > 0) {
    throw new OutboxError('OUTBOX_NOT_QUARANTINED', `not in quarantine: ${notFound.join(', ')} (see \`outbox-relay quarantine list --all\`)`);
  }
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
