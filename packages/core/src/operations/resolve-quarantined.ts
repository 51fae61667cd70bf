import type { OperationsDialect } from '../dialect.js';
import type { SqlExecutor } from '../sql.js';
import type { QuarantineOutcome, QuarantineResolution } from './types.js';

/**
 * Retries or skips one quarantined event inside `tx`, driving the dialect's quarantine
 * statements. Resolving twice is reported, not an error, so an operator can re-run a command
 * safely. A retried event keeps its `expiresAt` unless `options.ignoreExpiry`: an event retried
 * after it expired is quarantined again (reason `expired`), never published by accident.
 */
export async function resolveQuarantined(
  dialect: Pick<OperationsDialect, 'lockQuarantined' | 'restoreQuarantined' | 'markQuarantineResolved'>,
  tx: SqlExecutor,
  id: string,
  status: 'retried' | 'skipped',
  resolution: QuarantineResolution,
  options: { readonly ignoreExpiry?: boolean } = {},
): Promise<QuarantineOutcome> {
  const current = await dialect.lockQuarantined(tx, id);
  if (current === undefined) return { outcome: 'not-found' };
  if (current === 'retried' || current === 'skipped') return { outcome: 'already-resolved', status: current };
  if (status === 'retried') await dialect.restoreQuarantined(tx, id, options.ignoreExpiry === true);
  await dialect.markQuarantineResolved(tx, id, status, resolution);
  return { outcome: 'done' };
}
