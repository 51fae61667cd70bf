import type { SqlExecutor } from '../sql.js';

/**
 * The part of a dialect's inbox support that operations need: reconcile asks which ids a
 * consumer recorded, cleanup trims old inbox rows. Structural (the dialects' `InboxDialect`
 * satisfies it), so operations work with any dialect that has an inbox and say so when not.
 */
export interface InboxOperations {
  /** Those of `ids` that `consumer` has recorded as processed. */
  inboxContains(exec: SqlExecutor, consumer: string, ids: readonly string[]): Promise<string[]>;
  /** Deletes at most `limit` inbox rows processed before `cutoff`; returns how many. */
  deleteInboxBefore(exec: SqlExecutor, cutoff: Date, limit: number): Promise<number>;
}

/** The dialect's inbox operations, or null when this dialect has no inbox table support. */
export function inboxOperationsOf(dialect: object): InboxOperations | null {
  const candidate = dialect as Partial<InboxOperations>;
  return typeof candidate.inboxContains === 'function' && typeof candidate.deleteInboxBefore === 'function' ? (candidate as InboxOperations) : null;
}
