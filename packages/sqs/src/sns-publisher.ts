import { GetTopicAttributesCommand, PublishBatchCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { StoredEvent } from '@outboxkit/core';
import { AwsMessagePublisher, entryError, type AwsPublisher, type AwsServiceAdapter, type OutgoingMessage } from './aws-publisher.js';
import { clientConfig, errorText } from './connection.js';
import { normalizeSnsPublisherOptions, type SnsPublisherOptions } from './options.js';
import { resolveTopic } from './routing.js';

/** A {@link AwsPublisher} publishing to SNS topics. */
export type SnsPublisher = AwsPublisher;

/** SNS takes at most 256 KiB per message and per PublishBatch request. */
const MAX_BATCH_BYTES = 256 * 1024;

/**
 * Creates the SNS publisher: each event is published to the topic its routing rule names
 * (default `outbox-<aggregateType>`, `.fifo` with `fifo: true`), the payload as the message and
 * the headers as message attributes, so subscription filter policies can match them; on a FIFO
 * topic the group is the aggregate and the deduplication id the event id. Topics are never created.
 *
 * @example
 * const publisher = createSnsPublisher({ connection: 'sns://eu-west-1/123456789012' });
 * await publisher.publish(event); // Publish to arn:aws:sns:eu-west-1:123456789012:outbox-order
 */
export function createSnsPublisher(options: SnsPublisherOptions): SnsPublisher {
  const config = normalizeSnsPublisherOptions(options);
  const target = config.connection;
  const client = target.kind === 'owned' ? new SNSClient(clientConfig(target)) : target.instance;
  const secrets = target.kind === 'owned' ? target.secrets : [];
  // The client's region, for ARNs: a provider function in the SDK's resolved config.
  const region = target.kind === 'owned' ? Promise.resolve(target.region) : Promise.resolve(client.config.region());
  const topicArn = async (topic: string): Promise<string> => (topic.startsWith('arn:') ? topic : arn(await region, config.account, topic));

  const entry = (message: OutgoingMessage) => ({
    Message: message.body,
    MessageAttributes: message.attributes,
    ...(message.fifo === null ? {} : { MessageGroupId: message.fifo.groupId, MessageDeduplicationId: message.fifo.deduplicationId }),
  });

  const adapter: AwsServiceAdapter = {
    service: 'SNS',
    system: 'aws_sns',
    where: target.kind === 'owned' ? target.where : 'the given SNSClient',
    sendTimeoutMs: config.sendTimeoutMs,
    maxMessageBytes: Math.min(config.maxMessageBytes, MAX_BATCH_BYTES),
    maxBatchSize: config.maxBatchSize,
    messageFormat: config.messageFormat,
    maxBatchBytes: MAX_BATCH_BYTES,
    destination: (event: StoredEvent) => resolveTopic(event, config.routing),
    async sendOne(topic, message, signal) {
      await client.send(new PublishCommand({ TopicArn: await topicArn(topic), ...entry(message) }), { abortSignal: signal });
    },
    async sendMany(topic, messages, signal) {
      const PublishBatchRequestEntries = messages.map((message, i) => ({ Id: String(i), ...entry(message) }));
      const reply = await client.send(new PublishBatchCommand({ TopicArn: await topicArn(topic), PublishBatchRequestEntries }), { abortSignal: signal });
      const failed = new Map((reply.Failed ?? []).map((f) => [f.Id, entryError(f.Code, f.Message, f.SenderFault)]));
      const accepted = new Set((reply.Successful ?? []).map((s) => s.Id));
      return PublishBatchRequestEntries.map(
        ({ Id }) => failed.get(Id) ?? (accepted.has(Id) ? null : entryError(undefined, 'SNS answered the batch without this entry', false)),
      );
    },
    // Any answer, "no such topic" included, proves the endpoint and the credentials good.
    probe: async (signal) => client.send(new GetTopicAttributesCommand({ TopicArn: await topicArn('outboxkit-probe') }), { abortSignal: signal }),
    text: (error) => errorText(error, secrets),
    close: () => {
      if (target.kind === 'owned') client.destroy();
    },
  };
  return new AwsMessagePublisher(adapter);
}

/** A topic's ARN in the region's partition (aws, aws-cn, aws-us-gov). */
export function arn(region: string, account: string, topic: string): string {
  const partition = region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  return `arn:${partition}:sns:${region}:${account}:${topic}`;
}
