import type { SqlExecutor } from './sql.js';

/**
 * What the ordering guard decided for one event, given the last sequence applied for its
 * aggregate by this consumer:
 * - `apply`: it is the next one (`last + 1`); the stored sequence has been advanced to it.
 * - `applied`: its sequence is at or below the last applied one, so it was applied before
 *   (a redelivery or replay whose inbox row has already been deleted by retention).
 * - `early`: an earlier event of the aggregate has not been applied yet; hold this one back.
 */
export type SequenceDecision = 'apply' | 'applied' | 'early';

/**
 * The consumer side of a database: the inbox table (which messages a consumer has processed)
 * and the per-aggregate sequence table of the ordering guard, both created by migration 2.
 *
 * Every method takes the executor to run on. The write methods (`inboxInsert`,
 * `advanceInboxSequence`) must run inside the transaction that applies the message's effect:
 * that is what makes the effect and the "processed" mark commit or roll back together.
 *
 * Implemented by the dialects of `@outboxkit/postgres`, `@outboxkit/mysql` and
 * `@outboxkit/sqlite` (their dialect objects are `Dialect & InboxDialect`).
 */
export interface InboxDialect {
  /**
   * Inside the consumer's transaction: records `messageId` as processed by `consumer`.
   * Resolves `true` when the row was inserted, `false` when it was already there (a
   * duplicate). When another open transaction inserted the same key, this waits for it to end,
   * so two deliveries of one message can never both see `true` and both commit.
   */
  inboxInsert(tx: SqlExecutor, consumer: string, messageId: string): Promise<boolean>;
  /** Those of `ids` that `consumer` has recorded as processed (in no particular order). */
  inboxContains(exec: SqlExecutor, consumer: string, ids: readonly string[]): Promise<string[]>;
  /**
   * Deletes at most `limit` inbox rows (of every consumer) processed before `cutoff`, oldest
   * first, and returns how many it deleted. Call it in a loop until it returns less than
   * `limit`: small batches keep each delete's locks and undo log short.
   */
  deleteInboxBefore(exec: SqlExecutor, cutoff: Date, limit: number): Promise<number>;
  /**
   * Inside the consumer's transaction: locks the (consumer, aggregate) sequence row (creating it
   * at 0 when missing) and decides whether `sequence` may be applied now; on `apply` the row is
   * advanced to `sequence`. With `acceptFirstSeen`, an aggregate this consumer has never applied
   * anything of accepts whatever sequence arrives first (for consumers attached to a running
   * stream); otherwise it waits for sequence 1.
   */
  advanceInboxSequence(
    tx: SqlExecutor,
    consumer: string,
    aggregate: { readonly type: string; readonly id: string },
    sequence: number,
    acceptFirstSeen: boolean,
  ): Promise<SequenceDecision>;
}

/** Longest consumer name and message id the inbox stores (its key columns are 255 characters wide). */
export const MAX_INBOX_KEY_LENGTH = 255;

/**
 * The decision every dialect applies once it holds the locked row's last sequence (0 = nothing
 * applied yet). Kept here so the three databases cannot disagree on it.
 */
export function decideSequence(last: number, sequence: number, acceptFirstSeen: boolean): SequenceDecision {
  if (last === 0) return sequence === 1 || acceptFirstSeen ? 'apply' : 'early';
  if (sequence <= last) return 'applied';
  return sequence === last + 1 ? 'apply' : 'early';
}
