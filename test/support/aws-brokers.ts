import {
  awsBrokerUrl,
  awsEndpointOf,
  collectSqs,
  startFauxqs,
  uniqueName,
  type FauxqsServer,
  type MessageCollector,
  type PrivateServer,
} from '@outboxkit/testkit';
import { fromSqsMessage } from '@outboxkit/sqs';

/** The emulators this process started, by endpoint: a destination made on one is made again after its restart. */
const emulators = new Map<string, FauxqsServer>();
let shared: Promise<FauxqsServer> | null = null;

async function emulator(): Promise<FauxqsServer> {
  const server = await startFauxqs();
  emulators.set(server.url, server);
  return server;
}

/** The relay's broker URL on this process's shared emulator (started on first use, stopped by {@link stopSharedEmulator}). */
export async function sharedEmulatorUrl(service: 'sqs' | 'sns'): Promise<string> {
  shared ??= emulator();
  return awsBrokerUrl((await shared).url, service);
}

export async function stopSharedEmulator(): Promise<void> {
  const server = shared;
  shared = null;
  if (server !== null) await (await server).dispose();
}

/** A private emulator whose `url` is the relay's broker URL. */
export async function privateEmulator(service: 'sqs' | 'sns'): Promise<PrivateServer> {
  const server = await emulator();
  return Object.assign(Object.create(server) as PrivateServer, { url: awsBrokerUrl(server.url, service) });
}

/**
 * FIFO destinations of one test (`<prefix>-account.fifo`, what the relay's default rule names
 * for the tests' `account` events; SNS: a topic and a queue subscribed to it), created again after
 * an emulator restart, and a collector on the queue. `fifo: false` gives standard ones, for
 * replays: FIFO's 5-minute deduplication cannot be shortened.
 */
export async function isolateAws(service: 'sqs' | 'sns', brokerUrl: string, fifo: boolean): Promise<{ flags: string[]; collector: MessageCollector }> {
  const endpoint = awsEndpointOf(brokerUrl);
  const server = emulators.get(endpoint);
  if (server === undefined) throw new Error(`no emulator of this process at ${endpoint}`);
  const prefix = uniqueName('okt_e2e');
  const suffix = fifo ? '.fifo' : '';
  const destination = `${prefix}-account${suffix}`;
  const queueUrl =
    service === 'sqs' ? (await server.createQueue(destination)).url : (await server.createTopicWithQueue(destination, `${prefix}-q${suffix}`)).queueUrl;
  return {
    flags: [service === 'sqs' ? '--queue-prefix' : '--topic-prefix', prefix, ...(fifo ? ['--fifo'] : [])],
    collector: await collectSqs({ endpoint, queueUrls: [queueUrl], decode: fromSqsMessage }),
  };
}
