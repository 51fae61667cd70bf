import {
  collectJetStream,
  collectRedisStreams,
  serviceUrl,
  startNatsServer,
  startRedisServer,
  uniqueName,
  type MessageCollector,
  type PrivateServer,
} from '@outboxkit/testkit';
import { isolateAws, privateEmulator, sharedEmulatorUrl, stopSharedEmulator } from './aws-brokers.js';
import { isolatePubsub, privatePubsubEmulator, sharedPubsubUrl, stopSharedPubsub } from './pubsub-brokers.js';

/** A broker other than RabbitMQ, as the relay tests drive it: its URL, a private server, and an isolated destination. */
export interface BrokerCase {
  readonly name: 'NATS JetStream' | 'Redis Streams' | 'Amazon SQS FIFO' | 'Amazon SNS FIFO' | 'Google Cloud Pub/Sub';
  url(): Promise<string>;
  /** A private server (NATS file store; Redis append-only file, fsync always; fauxqs in memory) a fault test may kill and freeze. */
  startServer(): Promise<PrivateServer>;
  /** False for an emulator that keeps nothing across a SIGKILL (fauxqs, the Pub/Sub emulator): what it held then is lost with it. */
  readonly durable: boolean;
  /** Where the relay's default rule sends the tests' `account.credited` events, as `replay --dry-run` shows it. */
  destination(prefix: string): string;
  /** Stops what url() started, if anything. */
  dispose?(): Promise<void>;
  /**
   * The relay flags and a collector of what they publish, both isolated to one test.
   * `duplicateWindowMs`: NATS only, the stream's duplicate window (the collector creates the stream).
   */
  isolate(url: string, options?: { duplicateWindowMs?: number }): Promise<{ flags: string[]; collector: MessageCollector }>;
}

export const BROKER_CASES: readonly BrokerCase[] = [
  {
    name: 'NATS JetStream',
    url: () => serviceUrl('nats'),
    startServer: () => startNatsServer(),
    durable: true,
    destination: (prefix) => `subject ${prefix}.account.account.credited`,
    async isolate(url, options = {}) {
      const prefix = uniqueName('okt_e2e');
      const stream = prefix.toUpperCase();
      return {
        flags: ['--subject-prefix', prefix, '--nats-stream', stream],
        collector: await collectJetStream({ url, stream, createWithSubjects: [`${prefix}.>`], ...options }),
      };
    },
  },
  {
    name: 'Redis Streams',
    url: () => serviceUrl('redis'),
    startServer: () => startRedisServer({ persistence: 'always' }),
    durable: true,
    destination: (prefix) => `stream ${prefix}:account`,
    async isolate(url) {
      const prefix = uniqueName('okt_e2e');
      return { flags: ['--stream-prefix', prefix, '--max-len', '100000'], collector: await collectRedisStreams({ url, keyPrefix: `${prefix}:` }) };
    },
  },
  ...(['sqs', 'sns'] as const).map(
    (service): BrokerCase => ({
      name: service === 'sqs' ? 'Amazon SQS FIFO' : 'Amazon SNS FIFO',
      url: () => sharedEmulatorUrl(service),
      startServer: () => privateEmulator(service),
      durable: false,
      destination: (prefix) => `${service === 'sqs' ? 'queue' : 'topic'} ${prefix}-account`,
      // A replay test asks for a short duplicate window: standard destinations have none.
      isolate: (url, options = {}) => isolateAws(service, url, options.duplicateWindowMs === undefined),
      dispose: stopSharedEmulator,
    }),
  ),
  {
    name: 'Google Cloud Pub/Sub',
    url: () => sharedPubsubUrl(),
    startServer: () => privatePubsubEmulator(),
    durable: false,
    destination: (prefix) => `topic ${prefix}-account`,
    isolate: (url) => isolatePubsub(url),
    dispose: stopSharedPubsub,
  },
];
