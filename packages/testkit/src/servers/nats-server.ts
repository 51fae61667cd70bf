import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startPrivateServer, type PrivateServer } from './child-server.js';
import { tempDirRemovedOnExit } from './exit-guard.js';

/** A private NATS server with JetStream for fault tests: its own port and store directory (file-stored streams survive kill()/start()). */
export type NatsServer = PrivateServer;

const BINARY = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'];

/**
 * Starts `nats-server -js` on a free loopback port with a fresh store directory, and resolves
 * once it accepts connections. It never touches the shared server.
 *
 * @example
 * const nats = await startNatsServer();
 * try { await nats.kill(); await nats.start(); } finally { await nats.dispose(); }
 */
export async function startNatsServer(options: { startTimeoutMs?: number } = {}): Promise<NatsServer> {
  const command = BINARY.find((path) => existsSync(path));
  if (command === undefined) throw new Error(`startNatsServer: nats-server not found (looked in ${BINARY.join(', ')}); install the nats-server package`);
  const dir = tempDirRemovedOnExit('okt-nats-');
  return startPrivateServer(dir, (port) => ({
    spec: {
      name: 'nats-server',
      command,
      args: ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', join(dir, 'store'), '--server_name', `okt_${port}`],
      port,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    },
    url: `nats://127.0.0.1:${port}`,
  }));
}
