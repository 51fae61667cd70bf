import * as sqlite from '@outboxkit/sqlite';
import { collectSqs, FAUXQS_ACCOUNT, sqliteConformanceDatabase, startFauxqs, uniqueName, type FauxqsServer, type PrivateBroker, type PublisherHarness } from '@outboxkit/testkit';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { createSnsPublisher, createSqsPublisher, fromSqsMessage } from '../src/index.js';

const REGION = 'us-east-1';
const credentials = { accessKeyId: 'okt', secretAccessKey: 'okt-secret' };

/** The broker URL of the publisher for a fauxqs endpoint (`http://127.0.0.1:<port>`). */
export function sqsUrl(endpoint: string, service: 'sqs' | 'sns' = 'sqs'): string {
  const { host } = new URL(endpoint);
  return `${service}+http://${credentials.accessKeyId}:${credentials.secretAccessKey}@${host}${service === 'sns' ? `/${FAUXQS_ACCOUNT}` : ''}?region=${REGION}`;
}

export function sqsClient(endpoint: string): SQSClient {
  return new SQSClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });
}

export function snsClient(endpoint: string): SNSClient {
  return new SNSClient({ endpoint, region: REGION, credentials, maxAttempts: 1 });
}

/** Creates a queue (FIFO when its name ends in .fifo) and returns its URL and ARN. */
export async function createQueue(endpoint: string, name: string, attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
  const client = sqsClient(endpoint);
  try {
    const fifo = name.endsWith('.fifo') ? { FifoQueue: 'true' } : {};
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name, Attributes: { ...fifo, ...attributes } }));
    const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { url: QueueUrl!, arn: Attributes!.QueueArn! };
  } finally {
    client.destroy();
  }
}

/** Creates a topic and a queue subscribed to it with raw message delivery; returns the queue's URL. */
async function createTopicWithQueue(endpoint: string, topic: string, queue: string): Promise<string> {
  const client = snsClient(endpoint);
  try {
    const fifo = topic.endsWith('.fifo') ? { FifoTopic: 'true' } : {};
    const { TopicArn } = await client.send(new CreateTopicCommand({ Name: topic, Attributes: fifo }));
    const { url, arn } = await createQueue(endpoint, queue);
    await client.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: arn, Attributes: { RawMessageDelivery: 'true' } }));
    return url;
  } finally {
    client.destroy();
  }
}

/**
 * fauxqs keeps everything in memory, so a restarted one has no queues: what the beds on a private
 * emulator created is created again after each start, as infrastructure code would.
 */
const recreate = new Map<string, (() => Promise<unknown>)[]>();

async function privateFauxqs(): Promise<PrivateBroker> {
  const server: FauxqsServer = await startFauxqs();
  return {
    url: server.url,
    kill: () => server.kill(),
    async start() {
      await server.start();
      for (const create of recreate.get(server.url) ?? []) await create();
    },
    pause: () => server.pause(),
    resume: () => server.resume(),
    async dispose() {
      recreate.delete(server.url);
      await server.dispose();
    },
  };
}

/** One emulator for the cases that need no private broker, started on first use. */
let shared: Promise<FauxqsServer> | null = null;
export function sharedFauxqs(): Promise<FauxqsServer> {
  shared ??= startFauxqs();
  return shared;
}
export async function stopSharedFauxqs(): Promise<void> {
  if (shared !== null) await (await shared).dispose();
  shared = null;
}

type Flavour = { readonly service: 'sqs' | 'sns'; readonly fifo: boolean };

/** A conformance harness: one queue (or topic and queue) per bed, on fauxqs. */
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
      const endpoint = url ?? (await sharedFauxqs()).url;
      const name = uniqueName('okt');
      const destination = `${name}${suffix}`;
      const queue = `${name}-q${suffix}`;
      const create = () => (service === 'sqs' ? createQueue(endpoint, destination).then(({ url }) => url) : createTopicWithQueue(endpoint, destination, queue));
      const queueUrl = await create();
      if (url !== undefined) recreate.set(url, [...(recreate.get(url) ?? []), create]);
      const route = (event: { destination: string | null }) => event.destination ?? destination;
      return {
        missingDestination: `${name}-missing${suffix}`,
        publisher: (options = {}) => {
          const common = {
            route,
            ...(options.timeoutMs !== undefined ? { sendTimeoutMs: options.timeoutMs } : {}),
            ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
          };
          const connection = options.url ?? sqsUrl(endpoint, service);
          return service === 'sqs' ? createSqsPublisher({ connection, ...common }) : createSnsPublisher({ connection, ...common });
        },
        collect: () => collectSqs({ endpoint, queueUrls: [queueUrl], decode: fromSqsMessage }),
        // Everything lives in the emulator's memory and goes with it.
        async dispose() {},
      };
    },
  };
}
