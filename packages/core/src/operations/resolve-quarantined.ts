import type { SqlExecutor } from '../sql.js';
import type { QuarantineEntry, QuarantineOutcome, QuarantineResolution } from './types.js';

/** The statements one database runs to resolve a quarantined event; the flow is shared. */
export interface QuarantineStatements {
  /** The row's status, read under a row lock where the database has row locks; undefined when absent. */
  lockStatus(tx: SqlExecutor, id: string): Promise<QuarantineEntry['status'] | undefined>;
  /** Puts the event back into the pending table at its original position with attempts reset. */
  restore(tx: SqlExecutor, id: string): Promise<void>;
  /** Records the resolution (status, who, why, when). */
  markResolved(tx: SqlExecutor, id: string, status: 'retried' | 'skipped', resolution: QuarantineResolution): Promise<void>;
}

/**
 * Retries or skips one quarantined event inside `tx`. Resolving twice is reported, not an
 * error, so an operator can re-run a command safely.
 */
export async function resolveQuarantined(
  tx: SqlExecutor,
  id: string,
  status: 'retried' | 'skipped',
  resolution: QuarantineResolution,
  statements: QuarantineStatements,
): Promise<QuarantineOutcome> {
  const current = await statements.lockStatus(tx, id);
  if (current === undefined) return { outcome: 'not-found' };
  if (current === 'retried' || current === 'skipped') return { outcome: 'already-resolved', status: current };
  if (status === 'retried') await statements.restore(tx, id);
  await statements.markResolved(tx, id, status, resolution);
  return { outcome: 'done' };
}
