import { setTimeout as sleep } from 'node:timers/promises';
import { OutboxError } from '@outboxkit/core';

/** How long a statement or `BEGIN IMMEDIATE` keeps retrying a locked database, by default. */
export const DEFAULT_MAX_BUSY_WAIT_MS = 10_000;

/** `code` of the {@link OutboxError} thrown when the database stayed locked past the budget. */
export const DATABASE_BUSY_CODE = 'OUTBOX_DATABASE_BUSY';

const FIRST_DELAY_MS = 1;
const MAX_DELAY_MS = 50;

/** SQLITE_BUSY and its extended codes (SQLITE_BUSY_RECOVERY, ...): another connection holds the lock. */
export function isBusyError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_'));
}

/**
 * Runs the synchronous `attempt` until it stops failing with SQLITE_BUSY, waiting between tries
 * with a jittered exponential backoff (1 ms doubling up to 50 ms).
 *
 * Why not SQLite's own `busy_timeout`: better-sqlite3 is synchronous, so a busy timeout sleeps
 * the whole Node thread. If the lock holder is a transaction in this same process that awaits
 * something (ORMs do), it can only commit when the event loop runs again: a deadlock until the
 * timeout expires. Waiting here with timers keeps the event loop free for that holder.
 *
 * Only call this for work that either succeeds or changes nothing when it fails (a statement
 * outside a transaction, `BEGIN IMMEDIATE`), so that retrying is always safe.
 */
export async function retryWhileBusy<T>(attempt: () => T, maxWaitMs: number, what: string): Promise<T> {
  const deadline = Date.now() + maxWaitMs;
  let delay = FIRST_DELAY_MS;
  for (;;) {
    try {
      return attempt();
    } catch (error) {
      if (!isBusyError(error)) throw error;
      const jittered = delay / 2 + (Math.random() * delay) / 2;
      if (Date.now() + jittered > deadline) {
        throw new OutboxError(
          DATABASE_BUSY_CODE,
          `${what}: the SQLite database stayed locked by another connection for more than ${maxWaitMs} ms (SQLITE_BUSY). ` +
            'Some writer keeps a write transaction open that long: keep write transactions short, or raise maxBusyWaitMs.',
          { cause: error },
        );
      }
      await sleep(jittered);
      delay = Math.min(delay * 2, MAX_DELAY_MS);
    }
  }
}
