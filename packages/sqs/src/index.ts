export { createSqsPublisher, type SqsPublisher } from './publisher.js';
export { arn as snsTopicArn, createSnsPublisher, type SnsPublisher } from './sns-publisher.js';
export type { AwsPublisher } from './aws-publisher.js';
export {
  normalizeSnsPublisherOptions,
  normalizeSqsPublisherOptions,
  SNS_PUBLISHER_DEFAULTS,
  SQS_PUBLISHER_DEFAULTS,
  type SnsPublisherOptions,
  type SqsPublisherOptions,
} from './options.js';
export { parseAwsUrl, type AwsEndpointConfig } from './connection.js';
export { defaultDestination, isFifo, messageGroupId, resolveQueue, resolveTopic } from './routing.js';
export { fromSqsMessage, MAX_MESSAGE_ATTRIBUTES, toAwsMessage, type AwsMessage, type ReceivedSqsMessage } from './wire-format.js';
export { createSqsInboxConsumer, type SqsInboxConsumer } from './inbox-consumer.js';
export { normalizeSqsInboxConsumerOptions, type NormalizedSqsInboxConsumerOptions, type SqsInboxConsumerOptions } from './inbox-options.js';
export { listDeadLetters, redeliverDeadLetters, type SqsDeadLetterOptions, type SqsRedeliverOptions } from './dead-letters.js';
