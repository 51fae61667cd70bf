import { existsSync } from 'node:fs';
import { createPubsubTopic } from '../pubsub-testbed.js';
import { startPrivateServer, type PrivateServer } from './child-server.js';
import { freePort } from './ports.js';
import { TcpGate } from './tcp-gate.js';
import { tempDirRemovedOnExit } from './exit-guard.js';

/**
 * A private Google Cloud Pub/Sub emulator on its own port; `url` is its `host:port`. Any project
 * id works. It keeps topics, subscriptions and messages in memory: a kill() loses them. What a
 * test creates with `createTopic` comes back with each later start() before the emulator is
 * reachable on `url` again (it listens on a second, private port behind a {@link TcpGate}), as
 * infrastructure code would re-create it after an outage — but atomically: a relay retrying
 * against the restarted emulator never meets a topic whose subscription is not back yet (the
 * emulator would accept the publish and drop it).
 */
export interface PubsubEmulator extends PrivateServer {
  /** {@link createPubsubTopic} on this emulator, now and at every later start(). */
  createTopic(topic: string, subscription: string, deadLetter?: { topic: string; maxDeliveryAttempts: number }): Promise<string>;
}

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
  const dir = tempDirRemovedOnExit('okt-pubsub-');
  const emulator = await startPrivateServer(dir, (port) => ({
    spec: { name: 'pubsub-emulator', command, args: [`--host=127.0.0.1`, `--port=${port}`], port, startTimeoutMs: options.startTimeoutMs ?? 60_000 },
    url: `127.0.0.1:${port}`,
  }));
  let gate: TcpGate;
  try {
    gate = await openGate(emulator.port);
  } catch (error) {
    await emulator.dispose();
    throw error;
  }
  const topics: Parameters<PubsubEmulator['createTopic']>[] = [];
  return {
    url: `127.0.0.1:${gate.port}`,
    port: gate.port,
    dir,
    get pid() {
      return emulator.pid;
    },
    async start() {
      await emulator.start();
      for (const topic of topics) await createPubsubTopic(emulator.url, ...topic);
      await gate.open();
    },
    async kill() {
      await gate.close();
      await emulator.kill();
    },
    async stop() {
      await gate.close();
      await emulator.stop();
    },
    pause: () => emulator.pause(),
    resume: () => emulator.resume(),
    async dispose() {
      await gate.close();
      await emulator.dispose();
    },
    async createTopic(...topic) {
      topics.push(topic);
      return createPubsubTopic(emulator.url, ...topic);
    },
  };
}

/** An open gate to `target` on a free port (another one if a process took the first). */
async function openGate(target: number): Promise<TcpGate> {
  for (let attempt = 1; ; attempt++) {
    const gate = new TcpGate(await freePort(), () => target);
    try {
      await gate.open();
      return gate;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
}
