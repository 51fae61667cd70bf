import { signalLocalCommit } from '@outboxkit/core';
import type { DrizzleSession } from './drizzle-handles.js';

/** One session's open top-level transactions (better-sqlite3 nests `db.transaction` calls as savepoints). */
interface SessionState {
  depth: number;
  wroteEvents: boolean;
}

/**
 * Knows which Drizzle sessions have an open top-level transaction started by `db.transaction`,
 * and wakes relays in this process once such a transaction commits after writing events: never
 * for a rollback, never at a savepoint release (`tx.transaction(...)`), never for transactions
 * that wrote nothing.
 *
 * Drizzle has no commit hook, so {@link commitTrackerOf} wraps `db.transaction`: Drizzle resolves
 * (or, on better-sqlite3, returns) only after COMMIT. The key is the transaction's session: on a
 * pool Drizzle makes one per top-level transaction, shared by its nested transactions; on a
 * single connection (better-sqlite3, a `pg` Client) the database's own session, one transaction
 * at a time.
 */
export class CommitTracker {
  readonly #open = new Map<DrizzleSession, SessionState>();

  /** Whether `session` is inside a transaction this tracker saw begin and not end. */
  isOpen(session: DrizzleSession): boolean {
    return this.#open.has(session);
  }

  opened(session: DrizzleSession): void {
    const state = this.#open.get(session);
    if (state) state.depth++;
    else this.#open.set(session, { depth: 1, wroteEvents: false });
  }

  wrote(session: DrizzleSession): void {
    const state = this.#open.get(session);
    if (state) state.wroteEvents = true;
  }

  /** The transaction ended; signals local relays when the outermost one committed events. */
  closed(session: DrizzleSession, committed: boolean): void {
    const state = this.#open.get(session);
    if (!state || --state.depth > 0) return;
    this.#open.delete(session);
    if (committed && state.wroteEvents) signalLocalCommit();
  }

  /**
   * Runs `run` as one top-level transaction of `session`, synchronous or not, and closes it when
   * `run` returns or settles. For transactions Drizzle does not start itself (the SQLite inbox).
   */
  track<T>(session: () => DrizzleSession | undefined, run: () => T): T {
    let result: T;
    try {
      result = run();
    } catch (error) {
      this.#close(session(), false);
      throw error;
    }
    if (!isPromiseLike(result)) {
      this.#close(session(), true);
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        this.#close(session(), true);
        return value;
      },
      (error: unknown) => {
        this.#close(session(), false);
        throw error;
      },
    ) as T;
  }

  #close(session: DrizzleSession | undefined, committed: boolean): void {
    if (session !== undefined) this.closed(session, committed);
  }
}

type TransactionMethod = (this: unknown, fn: (tx: { session: DrizzleSession }) => unknown, config?: unknown) => unknown;

// A symbol from the global registry: two copies of this package share one tracker per database.
const TRACKER = Symbol.for('outboxkit.drizzle.commit-tracker');

/**
 * The tracker of a Drizzle database, installed on first use: `db.transaction` is replaced, on
 * this object, by a wrapper that opens the session's state before calling the callback and closes
 * it when Drizzle's own `transaction` returned (committed) or threw (rolled back). Everything
 * else is Drizzle's own, including the callback's return value and the transaction config.
 */
export function commitTrackerOf(db: object): CommitTracker {
  const holder = db as { [TRACKER]?: CommitTracker; transaction: TransactionMethod };
  const existing = holder[TRACKER];
  if (existing) return existing;
  const tracker = new CommitTracker();
  const drizzleTransaction = holder.transaction;
  function transaction(this: unknown, fn: (tx: { session: DrizzleSession }) => unknown, config?: unknown): unknown {
    let session: DrizzleSession | undefined;
    return tracker.track(
      () => session,
      () =>
        drizzleTransaction.call(
          this,
          (tx) => {
            session = tx.session;
            tracker.opened(session);
            return fn(tx);
          },
          config,
        ),
    );
  }
  Object.defineProperty(db, TRACKER, { value: tracker });
  holder.transaction = transaction;
  return tracker;
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}
