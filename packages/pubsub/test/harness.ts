import * as sqlite from '@outboxkit/sqlite';
import {
  collectPubsub,
  PUBSUB_TEST_PROJECT,
  pubsubBrokerUrl,
  sqliteConformanceDatabase,
  startPubsubEmulator,
  uniqueName,
  type PublisherHarness,
  type PubsubEmulator,
} from '@outboxkit/testkit';
import { createPubsubPublisher } from '../src/index.js';

/** Private emulators by URL, so a bed registers its topic to be created again after a restart. */
const emulators = new Map<string, PubsubEmulator>();

async function privateEmulator(): Promise<PubsubEmulator> {
  const emulator = await startPubsubEmulator();
  emulators.set(emulator.url, emulator);
  return emulator;
}

/** One emulator for the cases that need no private broker, started on first use. */
let shared: Promise<PubsubEmulator> | null = null;
export function sharedEmulator(): Promise<PubsubEmulator> {
  shared ??= privateEmulator();
  return shared;
}
export async function stopSharedEmulator(): Promise<void> {
  if (shared !== null) await (await shared).dispose();
  shared = null;
}

/** A topic and an ordered subscription per bed, on the Pub/Sub emulator. */
export const pubsubHarness: PublisherHarness = {
  name: 'Google Cloud Pub/Sub (emulator)',
  features: {
    brokerDedupe: false,
    unroutable: false,
    missingDestination: true,
    orderingKey: true,
    durableBroker: false,
    urlCredentials: false,
    // The emulator does not refuse large messages clearly (the client retries until its deadline); the publisher checks 10 MB itself.
    brokerMaxMessageBytes: null,
  },
  unreachableUrl: `pubsub+http://127.0.0.1:1/${PUBSUB_TEST_PROJECT}`,
  database: () => sqliteConformanceDatabase(sqlite),
  startBroker: () => privateEmulator(),
  async setup(url) {
    const emulator = url === undefined ? await sharedEmulator() : emulators.get(url)!;
    const name = uniqueName('okt');
    const subscription = await emulator.createTopic(name, `${name}-sub`);
    const route = (event: { destination: string | null }) => event.destination ?? name;
    return {
      missingDestination: `${name}-missing`,
      publisher: (options = {}) =>
        createPubsubPublisher({
          connection: options.url ?? pubsubBrokerUrl(emulator.url),
          route,
          ...(options.timeoutMs !== undefined ? { sendTimeoutMs: options.timeoutMs } : {}),
          ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
        }),
      collect: () => collectPubsub({ apiEndpoint: emulator.url, projectId: PUBSUB_TEST_PROJECT, subscription }),
      // Everything lives in the emulator's memory and goes with it.
      async dispose() {},
    };
  },
};
