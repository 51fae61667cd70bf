import type { CleanupResult } from '../admin/outbox-admin.js';
import type { DatabaseFlags } from '../config.js';
import { forEachTenant } from '../tenants/each-tenant.js';
import type { TenantFlags } from '../tenants/tenant-options.js';
import { withAdmin, type CommandOutput } from './operations-shared.js';

export interface CleanupFlags extends DatabaseFlags, TenantFlags {
  historyRetention?: string;
  inboxRetention?: string;
  batchSize?: number;
}

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
  const tenants = await forEachTenant(flags, (database, tenant) =>
    cleanupOne(database, { out: (line) => io.out(`[${tenant}] ${line}`), err: (line) => io.err(`[${tenant}] ${line}`) }),
  );
  if (tenants === null) return cleanupOne(flags, io);
  if (tenants.length === 0) io.out('cleanup: no tenant matches --tenants / --tenant-pattern');
  return sumCleanups(tenants.map(({ result }) => result));
}

/** The cleanup of the one outbox `flags` name. */
async function cleanupOne(flags: CleanupFlags, io: CommandOutput): Promise<CleanupResult> {
  const result = await withAdmin(flags, null, (admin) =>
    admin.cleanup({
      ...(flags.historyRetention === undefined ? {} : { historyRetention: flags.historyRetention }),
      ...(flags.inboxRetention === undefined ? {} : { inboxRetention: flags.inboxRetention }),
      ...(flags.batchSize === undefined ? {} : { batchSize: flags.batchSize }),
      onProgress: (table, total) => io.err(`cleanup: ${total} ${table} row(s) deleted so far`),
    }),
  );
  for (const { kind, message } of result.warnings) {
    io.err(
      kind === 'inbox-retention-shorter'
        ? 'cleanup: warning: --inbox-retention is shorter than --history-retention; events replayed from older history would be processed again by consumers'
        : `cleanup: ${message}`,
    );
  }
  const parts: string[] = [];
  if (result.historyCutoff !== null) parts.push(`${result.historyDeleted} history row(s) published before ${result.historyCutoff.toISOString()}`);
  if (result.inboxCutoff !== null) parts.push(`${result.inboxDeleted} inbox row(s) processed before ${result.inboxCutoff.toISOString()}`);
  io.out(parts.length === 0 ? 'cleanup: nothing to do (both retentions are off)' : `cleanup: deleted ${parts.join(' and ')}`);
  return result;
}

/** Every tenant's cleanup as one result: the counts add up (the cutoffs are the same for all). */
function sumCleanups(results: readonly CleanupResult[]): CleanupResult {
  const inbox = results.flatMap((result) => (result.inboxDeleted === null ? [] : [result.inboxDeleted]));
  return {
    historyDeleted: results.reduce((sum, result) => sum + result.historyDeleted, 0),
    inboxDeleted: inbox.length === 0 ? null : inbox.reduce((sum, n) => sum + n, 0),
    historyCutoff: results[0]?.historyCutoff ?? null,
    inboxCutoff: results[0]?.inboxCutoff ?? null,
    warnings: results.flatMap((result) => result.warnings),
  };
}
