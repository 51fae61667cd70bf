import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Last line of defence: a private server a test forgot to dispose (a crash, a timeout) is
 * stopped when the test process exits, so no broker or database outlives its test, and the
 * temporary directories of its data are removed after it, so CI's reused machines do not fill
 * /tmp with the data of killed runs.
 */
const cleanups = new Map<unknown, () => void>();
const dirs = new Set<string>();
let installed = false;

function install(): void {
  if (installed) return;
  installed = true;
  process.once('exit', () => {
    // Processes first: a server still running could write into the directory being removed.
    for (const cleanup of cleanups.values()) cleanup();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
}

/** Runs `stop` at process exit unless {@link forgetOnExit} was called for `key` first. */
export function stopOnExit(key: unknown, stop: () => void): void {
  install();
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

/**
 * A new directory under the OS temp dir (`<prefix>XXXXXX`), removed at process exit unless
 * {@link removeTempDir} removed it first.
 */
export function tempDirRemovedOnExit(prefix: string): string {
  install();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(dir);
  return dir;
}

/** Removes a directory of {@link tempDirRemovedOnExit} now. Safe to call twice. */
export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}
