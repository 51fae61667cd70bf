/** What {@link deleteInBatches} did. */
export interface BatchedDeleteResult {
  readonly deleted: number;
  readonly batches: number;
}

/**
 * Calls `deleteBatch(limit)` until a batch removes fewer than `limit` rows. Each call is its own
 * short statement or transaction, so locks are held briefly and a cleanup never competes with
 * the relay for long. With several cleanups at once, a short batch means the remaining old rows
 * are locked by another instance, which deletes them: stopping is correct, not a loss.
 */
export async function deleteInBatches(
  deleteBatch: (limit: number) => Promise<number>,
  limit: number,
  onBatch?: (totalSoFar: number) => void,
): Promise<BatchedDeleteResult> {
  let deleted = 0;
  let batches = 0;
  for (;;) {
    const removed = await deleteBatch(limit);
    batches++;
    deleted += removed;
    if (removed > 0) onBatch?.(deleted);
    if (removed < limit) return { deleted, batches };
  }
}
