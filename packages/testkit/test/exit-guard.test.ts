import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** Whether `pid` names a live process (not yet reaped; a zombie counts as gone). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  return existsSync(`/proc/${pid}/stat`) && !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
}

const DIST = fileURLToPath(new URL('../dist/', import.meta.url));

/**
 * A test process that starts a private server on a temp dir of the guard's and exits without
 * disposing of it (a crashed or timed-out test); prints the dir and the server's pid.
 */
const FORGETFUL_TEST = `
  import { writeFileSync } from 'node:fs';
  import { join } from 'node:path';
  import { startPrivateServer } from '${DIST}index.js';
  import { tempDirRemovedOnExit } from '${DIST}servers/exit-guard.js';
  const dir = tempDirRemovedOnExit('okt-guard-');
  writeFileSync(join(dir, 'data'), 'written by the server');
  const server = await startPrivateServer(dir, (port) => ({
    spec: { name: 'listener', command: process.execPath, args: ['-e', "require('node:net').createServer().listen(" + port + ", '127.0.0.1')"], port, startTimeoutMs: 10000 },
    url: '',
  }));
  console.log(JSON.stringify({ dir, pid: server.pid }));
  process.exit(1);
`;

describe('exit guard', () => {
  it('a test process that exits without dispose() leaves neither its private server nor the server temp dir behind', async () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', FORGETFUL_TEST], { encoding: 'utf8', timeout: 30_000 });
    expect(run.status, run.stderr).toBe(1);
    const { dir, pid } = JSON.parse(run.stdout.trim()) as { dir: string; pid: number };
    expect(dir).toMatch(/okt-guard-/);
    expect(existsSync(dir)).toBe(false);
    // SIGKILL is delivered asynchronously; the orphaned server is reaped by init soon after.
    await expect.poll(() => isAlive(pid), { timeout: 5000 }).toBe(false);
  });
});
