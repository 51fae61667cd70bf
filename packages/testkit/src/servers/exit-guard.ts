/**
 * Last line of defence: a private server a test forgot to dispose (a crash, a timeout) is
 * stopped when the test process exits, so no broker or database outlives its test.
 */
const cleanups = new Map<unknown, () => void>();
let installed = false;

/** Runs `stop` at process exit unless {@link forgetOnExit} was called for `key` first. */
export function stopOnExit(key: unknown, stop: () => void): void {
  if (!installed) {
    installed = true;
    process.once('exit', () => {
      for (const cleanup of cleanups.values()) cleanup();
    });
  }
  cleanups.set(key, stop);
}

/** SIGKILLs `pid` at process exit (after SIGCONT, in case a test froze it). */
export function killOnExit(pid: number): void {
  stopOnExit(pid, () => {
    try {
      process.kill(pid, 'SIGCONT');
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  });
}

export function forgetOnExit(key: unknown): void {
  cleanups.delete(key);
}
