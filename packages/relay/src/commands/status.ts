import { openDatabase } from '../connect.js';
import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';

export interface StatusFlags extends DatabaseFlags {
  json?: boolean;
}

/** `outbox-relay status`: backlog, oldest pending age, shard owners, quarantine. */
export async function statusCommand(flags: StatusFlags, out: (line: string) => void): Promise<void> {
  const target = await openDatabase(requireDatabaseUrl(flags), { tables: tableOptions(flags) });
  try {
    const status = await target.dialect.status(target.database);
    if (flags.json) {
      out(JSON.stringify(status, null, 2));
      return;
    }
    const age = status.oldestPendingAgeSeconds;
    out(`database            ${target.safeUrl}`);
    out(`backlog             ${status.backlog} pending event(s)`);
    out(`oldest pending      ${age === null ? '-' : `${age.toFixed(1)} s`}`);
    out(`quarantined         ${status.quarantined}`);
    out(`parked aggregates   ${status.parkedAggregates}`);
    out(`shard owners        ${status.shardOwners.length === 0 ? 'none (no relay running)' : ''}`);
    for (const owner of status.shardOwners) {
      out(`  ${owner.owner}  ${owner.shards} shard(s), lease expires in ${owner.expiresInSeconds.toFixed(1)} s`);
    }
  } finally {
    await target.database.close();
  }
}
