import { redactUrl, type OutboxStatus } from '@outboxkit/core';
import type { HealthThresholds } from '../admin/health.js';
import { requireDatabaseUrl, type DatabaseFlags } from '../config.js';
import { forEachTenant } from '../tenants/each-tenant.js';
import type { TenantFlags } from '../tenants/tenant-options.js';
import { formatSlotStatus, slotStatusFor, type LogicalFlags } from './logical-source.js';
import { withAdmin, type CommandOutput } from './operations-shared.js';

export interface StatusFlags extends DatabaseFlags, LogicalFlags, TenantFlags {
  json?: boolean;
}

/**
 * `outbox-relay status`: backlog, oldest pending age, shard owners, quarantine, and the
 * replication slot when one exists. With `--tenants`/`--tenant-pattern`, the same for each tenant
 * (`--json`: `{ tenants: [{ tenant, ...status }] }`).
 */
export async function statusCommand(flags: StatusFlags, out: (line: string) => void): Promise<void> {
  const tenants = await forEachTenant(flags, (tenant) => withAdmin(tenant, null, (admin) => admin.status()));
  if (tenants !== null) {
    if (flags.json) {
      out(JSON.stringify({ tenants: tenants.map(({ tenant, result }) => ({ tenant, ...result })) }, null, 2));
      return;
    }
    if (tenants.length === 0) out('no tenant matches --tenants / --tenant-pattern');
    for (const [i, { tenant, result }] of tenants.entries()) {
      if (i > 0) out('');
      out(`tenant              ${tenant}`);
      printStatus(result, out);
    }
    return;
  }
  const status = await withAdmin(flags, null, (admin) => admin.status());
  const slot = await slotStatusFor(flags);
  if (flags.json) {
    out(JSON.stringify(slot === null ? status : { ...status, logicalSlot: slot }, null, 2));
    return;
  }
  out(`database            ${redactUrl(requireDatabaseUrl(flags))}`);
  printStatus(status, out);
  if (slot !== null) for (const line of formatSlotStatus(slot)) out(line);
}

function printStatus(status: OutboxStatus, out: (line: string) => void): void {
  const age = status.oldestPendingAgeSeconds;
  out(`backlog             ${status.backlog} pending event(s)`);
  out(`oldest pending      ${age === null ? '-' : `${age.toFixed(1)} s`}`);
  out(`quarantined         ${status.quarantined}`);
  out(`parked aggregates   ${status.parkedAggregates}`);
  out(`shard owners        ${status.shardOwners.length === 0 ? 'none (no relay running)' : ''}`);
  for (const owner of status.shardOwners) {
    out(`  ${owner.owner}  ${owner.shards} shard(s), lease expires in ${owner.expiresInSeconds.toFixed(1)} s`);
  }
}

export interface HealthFlags extends DatabaseFlags {
  json?: boolean;
  maxOldestPendingAge?: string;
  maxQuarantined?: number;
  maxBacklog?: number;
}

/** Exit codes of `outbox-relay health`, for probes and scripts. */
export const HEALTH_EXIT_CODES = Object.freeze({ ok: 0, failed: 1, degraded: 3 });

/**
 * `outbox-relay health`: ok, degraded (a threshold exceeded) or failed (the database cannot be
 * read, or events are pending and no relay holds a lease), with the reasons; the exit code says
 * which (0 / 3 / 1).
 *
 * @example
 * outbox-relay health --max-oldest-pending-age 60s --max-quarantined 0
 */
export async function healthCommand(flags: HealthFlags, io: CommandOutput, parseAge: (text: string) => number): Promise<number> {
  const thresholds: HealthThresholds = {
    ...(flags.maxOldestPendingAge === undefined ? {} : { maxOldestPendingAgeMs: parseAge(flags.maxOldestPendingAge) }),
    ...(flags.maxQuarantined === undefined ? {} : { maxQuarantined: flags.maxQuarantined }),
    ...(flags.maxBacklog === undefined ? {} : { maxBacklog: flags.maxBacklog }),
  };
  const report = await withAdmin(flags, null, (admin) => admin.health(thresholds));
  if (flags.json) io.out(JSON.stringify(report, null, 2));
  else {
    io.out(`health: ${report.status}`);
    for (const reason of report.reasons) io.out(`  - ${reason}`);
  }
  return HEALTH_EXIT_CODES[report.status];
}
