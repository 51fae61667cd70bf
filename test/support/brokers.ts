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

/** A broker other than RabbitMQ, as the relay tests drive it: its URL, a private server, and an isolated destination. */
export interface BrokerCase {
  readonly name: 'NATS JetStream' | 'Redis Streams';
  url(): Promise<string>;
  /** A private server (NATS file store; Redis append-only file, fsync always) a fault test may kill and freeze. */
  startServer(): Promise<PrivateServer>;
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
    async isolate(url) {
      const prefix = uniqueName('okt_e2e');
      return { flags: ['--stream-prefix', prefix, '--max-len', '100000'], collector: await collectRedisStreams({ url, keyPrefix: `${prefix}:` }) };
    },
  },
];
