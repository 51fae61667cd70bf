import * as sqlite from '@outboxkit/sqlite';
import {
  collectQueue,
  describePublisherConformance,
  serviceUrl,
  sqliteConformanceDatabase,
  startRabbitNode,
  uniqueName,
  type MessageCollector,
  type PublisherHarness,
  type ReceivedMessage,
} from '@outboxkit/testkit';
import type { AsyncMessage } from 'rabbitmq-client';
import { createRabbitPublisher } from '../src/index.js';

const harness: PublisherHarness = {
  name: 'RabbitMQ',
  features: { brokerDedupe: false, unroutable: true, missingDestination: true, orderingKey: false, brokerMaxMessageBytes: null },
  unreachableUrl: 'amqp://guest:N0t-For-Logs-7731@127.0.0.1:1',
  database: () => sqliteConformanceDatabase(sqlite),
  async startBroker() {
    return startRabbitNode();
  },
  async setup(url) {
    const brokerUrl = url ?? (await serviceUrl('rabbitmq'));
    const exchange = uniqueName('okt_conf_x');
    return {
      unroutableDestination: `/${uniqueName('okt_nowhere')}`,
      missingDestination: `${uniqueName('okt_missing_x')}/key`,
      publisher: (options = {}) =>
        createRabbitPublisher({
          connection: options.url ?? brokerUrl,
          exchange,
          ...(options.timeoutMs !== undefined ? { confirmTimeoutMs: options.timeoutMs } : {}),
          ...(options.maxMessageBytes !== undefined ? { maxMessageBytes: options.maxMessageBytes } : {}),
          ...(options.strictDestinations ? { declareExchange: false } : {}),
        }),
      async collect(): Promise<MessageCollector> {
        // Durable, so the messages of a killed private broker are still there after its restart.
        const queue = await collectQueue({
          url: brokerUrl,
          queue: uniqueName('okt_conf_q'),
          declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
        });
        return {
          log: queue.log,
          get messages() {
            return queue.messages.map(received);
          },
          waitFor: (condition, timeoutMs) => queue.waitFor(condition, timeoutMs),
          close: () => queue.close(),
        };
      },
      async dispose() {},
    };
  },
};

/** An AMQP delivery in the suite's broker-neutral terms. */
function received(message: AsyncMessage): ReceivedMessage {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'bigint') headers[name] = String(value);
  }
  const body = Buffer.isBuffer(message.body) ? message.body.toString('utf8') : typeof message.body === 'string' ? message.body : JSON.stringify(message.body);
  return { nativeId: message.messageId, headers, body };
}

describePublisherConformance(harness);
