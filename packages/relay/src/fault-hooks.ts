import type { Dialect } from '@outboxkit/core';

/**
 * Test-only hooks that make the relay stop itself (SIGSTOP) at an exact point of its n-th settle
 * transaction, so the fault scenarios can freeze a relay deterministically where a random
 * SIGSTOP almost never lands:
 * - `OUTBOX_RELAY_FAULT_FREEZE_IN_SETTLE=<n>`: right after the transaction locked its lease
 *   rows, so it stays open holding them;
 * - `OUTBOX_RELAY_FAULT_FREEZE_BEFORE_SETTLE=<n>`: with the batch published and confirmed but its
 *   lease rows not yet read, so the fence decides on what the rows say once it resumes.
 * It announces the freeze on stderr first (a pipe write is synchronous on Linux), with the
 * shards of the batch; the parent resumes it with SIGCONT. Unset, the dialect is returned as it is.
 */
export const FREEZE_IN_SETTLE_ENV = 'OUTBOX_RELAY_FAULT_FREEZE_IN_SETTLE';
export const FREEZE_BEFORE_SETTLE_ENV = 'OUTBOX_RELAY_FAULT_FREEZE_BEFORE_SETTLE';

export function withFaultHooks(dialect: Dialect, env: NodeJS.ProcessEnv = process.env): Dialect {
  const inSettle = settleNumber(env, FREEZE_IN_SETTLE_ENV);
  const beforeSettle = settleNumber(env, FREEZE_BEFORE_SETTLE_ENV);
  if (inSettle === undefined && beforeSettle === undefined) return dialect;
  let settles = 0;
  return {
    ...dialect,
    async lockLeaseRows(tx, shards) {
      const settle = ++settles;
      if (settle === beforeSettle) freeze('frozen-before-settle', shards);
      const rows = await dialect.lockLeaseRows(tx, shards);
      if (settle === inSettle) freeze('frozen-in-settle', shards);
      return rows;
    },
  };
}

function settleNumber(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const at = Number(raw);
  if (!Number.isInteger(at) || at < 1) throw new Error(`${name} must be a positive integer, got ${JSON.stringify(raw)}`);
  return at;
}

function freeze(what: string, shards: readonly number[]): void {
  process.stderr.write(`OUTBOX_FAULT ${what} ${JSON.stringify({ pid: process.pid, shards: [...shards].sort((a, b) => a - b) })}\n`);
  process.kill(process.pid, 'SIGSTOP');
}
