import { OutboxConfigError, OutboxSchemaMissingError, scrub, someCause } from '@outboxkit/core';
import type { Logger } from 'pino';

// Node socket errors, mysql2's lost connection, and SQLSTATE class 08 (connection exception) and
// 57P03 (the server is starting up): the database is not there YET. Anything else (missing
// tables, a wrong password, a typo in the database name) will not fix itself by waiting.
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_CON_COUNT_ERROR',
  '57P03',
]);
const UNREACHABLE_MESSAGES = /Connection terminated|timeout expired|connect ETIMEDOUT|server closed the connection/i;

/** Whether `error` says the database could not be reached (as opposed to refused what was asked). */
export function isDatabaseUnreachable(error: unknown): boolean {
  if (error instanceof OutboxSchemaMissingError || error instanceof OutboxConfigError) return false;
  return someCause(error, (candidate) => {
    const code = (candidate as { code?: unknown }).code;
    if (typeof code === 'string' && (UNREACHABLE_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
    return candidate instanceof Error && UNREACHABLE_MESSAGES.test(candidate.message);
  });
}

const FIRST_DELAY_MS = 1000;
const MAX_DELAY_MS = 30_000;

/**
 * Runs `start` until it succeeds, retrying (1 s doubling to 30 s) while the database is
 * unreachable, so a relay started before its database (a deploy, a reboot) waits for it instead
 * of exiting. Every other error is thrown at once. Resolves false when `signal` aborts first.
 * The logged message has `secrets` (the URL's password) removed.
 */
export async function startWhenDatabaseAnswers(start: () => Promise<void>, logger: Logger, signal: AbortSignal, secrets: readonly string[]): Promise<boolean> {
  for (let delay = FIRST_DELAY_MS; ; delay = Math.min(MAX_DELAY_MS, delay * 2)) {
    if (signal.aborted) return false;
    try {
      await start();
      return true;
    } catch (error) {
      if (!isDatabaseUnreachable(error)) throw error;
      const message = scrub(error instanceof Error ? error.message : String(error), secrets);
      logger.warn(
        { err: { message }, retryInMs: delay },
        `database unreachable at start (${message}): retrying in ${delay / 1000} s; the relay starts once it answers`,
      );
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, delay);
      function done(): void {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
