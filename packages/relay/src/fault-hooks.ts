import type { Dialect } from '@outboxkit/core';

/**
 * Test-only: `OUTBOX_RELAY_FAULT_FREEZE_IN_SETTLE=<n>` makes the relay stop itself (SIGSTOP)
 * right after its n-th settle transaction locked its lease rows, so the fault scenarios can
 * freeze a relay deterministically INSIDE that transaction (a random SIGSTOP almost never lands
 * there). It announces the freeze on stderr first (a pipe write is synchronous on Linux), with
 * the shards whose rows it holds; the parent resumes it with SIGCONT. Unset, the dialect is
 * returned as it is.
 */
export const FREEZE_IN_SETTLE_ENV = 'OUTBOX_RELAY_FAULT_FREEZE_IN_SETTLE';

export function withFaultHooks(dialect: Dialect, env: NodeJS.ProcessEnv = process.env): Dialect {
  const raw = env[FREEZE_IN_SETTLE_ENV];
  if (raw === undefined || raw === '') return dialect;
  const at = Number(raw);
  if (!Number.isInteger(at) || at < 1) throw new Error(`${FREEZE_IN_SETTLE_ENV} must be a positive integer, got ${JSON.stringify(raw)}`);
  let settles = 0;
  return {
    ...dialect,
    async lockLeaseRows(tx, shards) {
      const rows = await dialect.lockLeaseRows(tx, shards);
      if (++settles === at) {
        process.stderr.write(`OUTBOX_FAULT frozen-in-settle ${JSON.stringify({ pid: process.pid, shards: [...shards].sort((a, b) => a - b) })}\n`);
        process.kill(process.pid, 'SIGSTOP');
      }
      return rows;
    },
  };
}
