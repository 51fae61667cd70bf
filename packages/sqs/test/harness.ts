import * as sqlite from '@outboxkit/sqlite';
import {
  awsBrokerUrl,
  collectSqs,
  FAUXQS_ACCOUNT,
  sqliteConformanceDatabase,
  startFauxqs,
  uniqueName,
  type FauxqsServer,
  type PublisherHarness,
} from '@outboxkit/testkit';
import { createSnsPublisher, createSqsPublisher, fromSqsMessage } from '../src/index.js';

/** Private emulators by endpoint, so a bed on one registers its queues to be created again after a restart. */
const servers = new Map<string, FauxqsServer>();

async function privateFauxqs(): Promise<FauxqsServer> {
  const server = await startFauxqs();
  servers.set(server.url, server);
  return server;
}

/** One emulator for the cases that need no private broker, started on first use. */
let shared: Promise<FauxqsServer> | null = null;
export function sharedFauxqs(): Promise<FauxqsServer> {
  shared ??= privateFauxqs();
  return shared;
}
export async function stopSharedFauxqs(): Promise<void> {
  if (shared !== null) await (await shared).dispose();
  shared = null;
}

type Flavour = { readonly service: 'sqs' | 'sns'; readonly fifo: boolean };

/** A conformance harness: one queue (or topic and subscribed queue) per bed, on fauxqs. */
export function awsHarness({ service, fifo }: Flavour): PublisherHarness {
  const suffix = fifo ? '.fifo' : '';
  return {
    name: `${service === 'sqs' ? 'Amazon SQS' : 'Amazon SNS'} ${fifo ? 'FIFO' : 'standard'} (fauxqs)`,
    features: {
      brokerDedupe: fifo,
      unroutable: false,
      missingDestination: true,
      orderingKey: fifo,
      durableBroker: false,
      // fauxqs enforces SQS's 1 MiB and SNS's 256 KiB; the publisher's default limit is below both.
      brokerMaxMessageBytes: service === 'sqs' ? 1024 * 1024 : 256 * 1024,
    },
    unreachableUrl: `${service}+http://okt:N0t-For-Logs-7731@127.0.0.1:1${service === 'sns' ? `/${FAUXQS_ACCOUNT}` : ''}`,
    database: () => sqliteConformanceDatabase(sqlite),
    startBroker: () => privateFauxqs(),
    async setup(url) {
      const server = url === undefined ? await sharedFauxqs() : servers.get(url)!;
      const endpoint = server.url;
      const name = uniqueName('okt');
      const destination = `${name}${suffix}`;
      const queueUrl =
        service === 'sqs' ? (await server.createQueue(destination)).url : (await server.createTopicWithQueue(destination, `${name}-q${suffix}`)).queueUrl;
      const route = (event: { destination: string | null }) => event.destination ?? destination;
      return {
        missingDestination: `${name}-missing${suffix}`,
        publisher: (options = {}) => {
          const common = {
            route,
            ...(options.timeoutMs !== undefined ? { sendTimeoutMs: options.timeoutMs } : {}),
            ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
          };
          const connection = options.url ?? awsBrokerUrl(endpoint, service);
          return service === 'sqs' ? createSqsPublisher({ connection, ...common }) : createSnsPublisher({ connection, ...common });
        },
        collect: () => collectSqs({ endpoint, queueUrls: [queueUrl], decode: fromSqsMessage }),
        // Everything lives in the emulator's memory and goes with it.
        async dispose() {},
      };
    },
  };
}
