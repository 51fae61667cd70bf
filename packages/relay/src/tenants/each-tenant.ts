import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';
import { tenantSelection, type TenantFlags } from './tenant-options.js';
import { openTenantSpace, tenancyOf } from './tenant-space.js';

/** One tenant's outcome of a one-outbox command run over every tenant. */
export interface TenantOutcome<T> {
  readonly tenant: string;
  readonly result: T;
}

/**
 * Runs a one-outbox command (`status`, `cleanup`) for each tenant the flags select, one after
 * another, on `flags` changed to name that tenant's outbox alone; null when the flags select no tenants.
 * The tenant list is read once (a pattern is matched now, not re-scanned).
 */
export async function forEachTenant<F extends DatabaseFlags & TenantFlags, T>(
  flags: F,
  work: (flags: F, tenant: string) => Promise<T>,
): Promise<TenantOutcome<T>[] | null> {
  const url = requireDatabaseUrl(flags);
  const selection = tenantSelection(flags, await tenancyOf(url));
  if (selection === null) return null;
  const space = await openTenantSpace(url, selection, { tables: tableOptions(flags) });
  let names: string[];
  try {
    names = await space.list();
  } finally {
    await space.close();
  }
  const outcomes: TenantOutcome<T>[] = [];
  for (const tenant of names) outcomes.push({ tenant, result: await work({ ...flags, ...space.flagsFor(tenant) }, tenant) });
  return outcomes;
}
