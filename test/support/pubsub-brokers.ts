import {
  collectPubsub,
  PUBSUB_TEST_PROJECT,
  pubsubBrokerUrl,
  startPubsubEmulator,
  uniqueName,
  type MessageCollector,
  type PrivateServer,
  type PubsubEmulator,
} from '@outboxkit/testkit';

/** The emulators this process started, by `host:port`: a topic made on one is made again after its restart. */
const emulators = new Map<string, PubsubEmulator>();
let shared: Promise<PubsubEmulator> | null = null;

async function emulator(): Promise<PubsubEmulator> {
  const server = await startPubsubEmulator();
  emulators.set(server.url, server);
  return server;
}

/** The relay's broker URL on this process's shared emulator (started on first use). */
export async function sharedPubsubUrl(): Promise<string> {
  shared ??= emulator();
  return pubsubBrokerUrl((await shared).url);
}

export async function stopSharedPubsub(): Promise<void> {
  const server = shared;
  shared = null;
  if (server !== null) await (await server).dispose();
}

/** A private emulator whose `url` is the relay's broker URL. */
export async function privatePubsubEmulator(): Promise<PrivateServer> {
  const server = await emulator();
  return Object.assign(Object.create(server) as PrivateServer, { url: pubsubBrokerUrl(server.url) });
}

/** The topic the relay's default rule names for the tests' `account` events, an ordered subscription on it, and a collector. */
export async function isolatePubsub(brokerUrl: string): Promise<{ flags: string[]; collector: MessageCollector }> {
  const host = new URL(brokerUrl).host;
  const server = emulators.get(host);
  if (server === undefined) throw new Error(`no Pub/Sub emulator of this process at ${host}`);
  const prefix = uniqueName('okt_e2e');
  const subscription = await server.createTopic(`${prefix}-account`, `${prefix}-sub`);
  return { flags: ['--topic-prefix', prefix], collector: await collectPubsub({ apiEndpoint: host, projectId: PUBSUB_TEST_PROJECT, subscription }) };
}
