import * as sqlite from '@outboxkit/sqlite';
import { collectJetStream, serviceUrl, sqliteConformanceDatabase, startNatsServer, uniqueName, type PublisherHarness } from '@outboxkit/testkit';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { createNatsPublisher } from '../src/index.js';

/** A stream and subject prefix of this test run, on the shared server or a private one. */
export const natsHarness: PublisherHarness = {
  name: 'NATS JetStream',
  features: { brokerDedupe: true, unroutable: false, missingDestination: true, orderingKey: false, brokerMaxMessageBytes: 1024 * 1024 },
  unreachableUrl: 'nats://okt:N0t-For-Logs-7731@127.0.0.1:1',
  database: () => sqliteConformanceDatabase(sqlite),
  startBroker: () => startNatsServer(),
  async setup(url) {
    const brokerUrl = url ?? (await serviceUrl('nats'));
    const subjectPrefix = uniqueName('okt');
    const stream = subjectPrefix.toUpperCase();
    return {
      missingDestination: `${uniqueName('okt_missing')}.x`,
      publisher: (options = {}) =>
        createNatsPublisher({
          connection: options.url ?? brokerUrl,
          subjectPrefix,
          stream,
          ...(options.timeoutMs !== undefined ? { ackTimeoutMs: options.timeoutMs } : {}),
          ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
          ...(options.strictDestinations ? { declareStream: false } : {}),
        }),
      collect: () => collectJetStream({ url: brokerUrl, stream, createWithSubjects: [`${subjectPrefix}.>`] }),
      async dispose() {
        const nc = await connect({ servers: brokerUrl.replace(/^nats:\/\//, ''), reconnect: false, timeout: 5000 }).catch(() => null);
        if (nc === null) return;
        const jsm = await jetstreamManager(nc);
        await jsm.streams.delete(stream).catch(() => undefined);
        await nc.close();
      },
    };
  },
};
