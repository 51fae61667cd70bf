import { existsSync } from 'node:fs';
import { startPrivateServer, type PrivateServer } from './child-server.js';
import { tempDirRemovedOnExit } from './exit-guard.js';

/** A private Redis server for fault tests: its own port and data directory. */
export type RedisServer = PrivateServer;

export interface RedisServerOptions {
  /**
   * `always`: the append-only file is fsynced before each reply, so what Redis acknowledged
   * survives a SIGKILL (what a durability test needs). `off`: nothing on disk at all, like the
   * shared server on these machines.
   * @default 'always'
   */
  persistence?: 'always' | 'off';
  startTimeoutMs?: number;
}

const BINARY = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

/**
 * Starts `redis-server` on a free loopback port in a fresh directory and resolves once it accepts
 * connections. It never touches the shared server.
 *
 * @example
 * const redis = await startRedisServer();
 * try { await redis.kill(); await redis.start(); } finally { await redis.dispose(); }
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const command = BINARY.find((path) => existsSync(path));
  if (command === undefined) throw new Error(`startRedisServer: redis-server not found (looked in ${BINARY.join(', ')}); install the redis-server package`);
  const dir = tempDirRemovedOnExit('okt-redis-');
  const persistence = (options.persistence ?? 'always') === 'always' ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  return startPrivateServer(dir, (port) => ({
    spec: {
      name: 'redis-server',
      command,
      args: ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', ...persistence, '--daemonize', 'no', '--protected-mode', 'no'],
      port,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    },
    url: `redis://127.0.0.1:${port}`,
  }));
}
