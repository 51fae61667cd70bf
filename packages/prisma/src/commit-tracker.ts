import { signalLocalCommit } from '@outboxkit/core';

/**
 * Remembers which open top-level transactions wrote events, so the relay in this process is
 * woken once, after the real COMMIT: never for a rollback, never at a nested transaction's
 * savepoint release, and never for transactions that wrote nothing.
 */
export class CommitTracker {
  /** Open transactions started through the extension -> whether they wrote events. */
  readonly #open = new Map<object | string, boolean>();

  /** A top-level transaction started. */
  opened(key: object | string): void {
    this.#open.set(key, false);
  }

  /** Events were written in the transaction `key` (a no-op for transactions not opened here). */
  wrote(key: object | string): void {
    if (this.#open.has(key)) this.#open.set(key, true);
  }

  /** The transaction ended; signals local relays when it committed events. */
  closed(key: object | string, committed: boolean): void {
    const wroteEvents = this.#open.get(key) === true;
    this.#open.delete(key);
    if (committed && wroteEvents) signalLocalCommit();
  }
}
