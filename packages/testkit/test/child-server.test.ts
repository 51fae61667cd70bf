import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ChildServer, freePort, startPrivateServer, type PrivateServer } from '../src/index.js';
import { listensOn } from '../src/servers/proc.js';

/** A real server process: Node listening on `port` until killed. */
function listener(port: number): { name: string; command: string; args: string[]; port: number; startTimeoutMs: number } {
  return {
    name: 'test-listener',
    command: process.execPath,
    args: ['-e', `require('node:net').createServer().listen(${port}, '127.0.0.1')`],
    port,
    startTimeoutMs: 10_000,
  };
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe('private test servers', () => {
  it('a start resolves once the server process itself listens, not merely something on the port', async () => {
    const server = await startPrivateServer(mkdtempSync(join(tmpdir(), 'okt-child-')), (port) => ({ spec: listener(port), url: `tcp://127.0.0.1:${port}` }));
    cleanups.push(() => server.dispose());
    expect(listensOn(server.pid!, server.port)).toBe(true);
    expect(listensOn(process.pid, server.port)).toBe(false);
  });

  it('a port another process took first fails the start with that reason, not a start on the wrong server', async () => {
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => squatter.close(() => resolve())));
    const server = new ChildServer(listener(port));
    cleanups.push(() => server.kill());
    await expect(server.start()).rejects.toThrow(`test-listener could not listen on 127.0.0.1:${port}: another process took the port first`);
  });

  it('pause() returns once the process is stopped, resume() lets it run again', async () => {
    const server: PrivateServer = await startPrivateServer(mkdtempSync(join(tmpdir(), 'okt-child-')), (port) => ({ spec: listener(port), url: '' }));
    cleanups.push(() => server.dispose());
    const state = (): string => {
      const stat = readFileSync(`/proc/${server.pid}/stat`, 'utf8');
      return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    };
    server.pause();
    expect(state()).toBe('T');
    server.resume();
    await expect.poll(state).not.toBe('T');
  });
});
