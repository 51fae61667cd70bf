import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forgetful, startPrivateServer, type ForgetfulServer } from './child-server.js';
import { freePort } from './ports.js';

/**
 * A private Google Cloud Pub/Sub emulator on its own port; `url` is its `host:port`. Any project
 * id works. It keeps topics, subscriptions and messages in memory: a kill() loses them, so what a
 * test registers with `afterStart` is created again by each later start().
 */
export type PubsubEmulator = ForgetfulServer;

// The launcher execs java, so its pid is the emulator's own (SIGKILL/SIGSTOP reach it).
const LAUNCHERS = [
  '/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator',
  '/usr/share/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator',
];

/**
 * Starts the Pub/Sub emulator (Java 17) on a free loopback port and resolves once it accepts
 * connections. Not installable from the package registries: a machine without it gets an error
 * naming the package to install.
 *
 * @example
 * const emulator = await startPubsubEmulator();
 * try { new PubSub({ projectId: 'okt', apiEndpoint: emulator.url }); } finally { await emulator.dispose(); }
 */
export async function startPubsubEmulator(options: { startTimeoutMs?: number } = {}): Promise<PubsubEmulator> {
  const command = LAUNCHERS.find((path) => existsSync(path));
  if (command === undefined) {
    throw new Error(
      `startPubsubEmulator: the Pub/Sub emulator is not installed (looked in ${LAUNCHERS.join(', ')}); install google-cloud-cli-pubsub-emulator (and Java 17)`,
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'okt-pubsub-'));
  const server = await startPrivateServer(
    { name: 'pubsub-emulator', command, args: [`--host=127.0.0.1`, `--port=${port}`], port, startTimeoutMs: options.startTimeoutMs ?? 60_000 },
    `127.0.0.1:${port}`,
    dir,
  );
  return forgetful(server);
}
