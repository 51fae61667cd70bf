import { OPEN_QUARANTINE_STATUSES, OutboxConfigError, OutboxError, type QuarantineEntry } from '@outboxkit/core';
import type { DatabaseFlags } from '../config.js';
import { defaultOperator, withAdmin, type CommandOutput } from './operations-shared.js';

export interface QuarantineListFlags extends DatabaseFlags {
  json?: boolean;
  all?: boolean;
  limit?: number;
}

export interface QuarantineResolveFlags extends DatabaseFlags {
  by?: string;
  reason?: string;
  /** retry only: clear the events' expiresAt, so expired ones are published anyway. */
  ignoreExpiry?: boolean;
}

/**
 * `outbox-relay quarantine list`: open quarantine rows (parked / dead-lettered), oldest first;
 * `--all` adds resolved ones with who resolved them and why.
 */
export async function quarantineListCommand(flags: QuarantineListFlags, io: CommandOutput): Promise<QuarantineEntry[]> {
  const options = { includeResolved: flags.all === true, ...(flags.limit === undefined ? {} : { limit: flags.limit }) };
  const entries = await withAdmin(flags, null, (admin) => admin.listQuarantine(options));
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
  const limit = flags.limit ?? 1000;
  const open = entries.filter((entry) => (OPEN_QUARANTINE_STATUSES as readonly string[]).includes(entry.status)).length;
  io.out(`${entries.length} quarantine row(s), ${open} open${entries.length === limit ? ` (first ${limit}; raise --limit to see more)` : ''}`);
  return entries;
}

/**
 * `outbox-relay quarantine retry <id>...`: puts each event back in the pending table with its
 * original position (before later events of its aggregate) and attempts reset; the aggregate
 * un-parks and the relay publishes it, then the events held back behind it, in order. An event
 * past its expiresAt is quarantined again (reason `expired`) unless `--ignore-expiry`.
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

async function resolveEach(action: 'retry' | 'skip', ids: string[], flags: QuarantineResolveFlags, io: CommandOutput): Promise<void> {
  const by = flags.by ?? defaultOperator();
  const resolution = { by, ...(flags.reason === undefined ? {} : { reason: flags.reason }) };
  const results = await withAdmin(flags, null, (admin) =>
    action === 'retry'
      ? admin.retryQuarantined(ids, { ...resolution, ignoreExpiry: flags.ignoreExpiry === true })
      : admin.skipQuarantined(ids, { ...resolution, reason: flags.reason ?? '' }),
  ).catch((error: unknown) => {
    // The ids are positional arguments, not --id.
    throw error instanceof OutboxConfigError && error.option === '--id' ? new OutboxConfigError('<id>', error.message.slice('--id: '.length)) : error;
  });
  const notFound: string[] = [];
  for (const { id, outcome, status } of results) {
    if (outcome === 'done') {
      io.out(
        action === 'retry'
          ? `retried ${id}: back in the pending table at its original position${flags.ignoreExpiry ? ', its expiry cleared' : ''} (by ${by.trim()})`
          : `skipped ${id} (by ${by.trim()})`,
      );
    } else if (outcome === 'already-resolved') {
      io.out(`${id} was already ${status}; nothing changed`);
    } else {
      notFound.push(id);
    }
  }
  if (notFound.length > 0) {
    throw new OutboxError('OUTBOX_NOT_QUARANTINED', `not in quarantine: ${notFound.join(', ')} (see \`outbox-relay quarantine list --all\`)`);
  }
}

function oneLine(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 200)}…` : flat;
}
