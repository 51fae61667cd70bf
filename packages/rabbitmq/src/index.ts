export { createRabbitPublisher, type RabbitPublisher } from './publisher.js';
export {
  normalizeRabbitPublisherOptions,
  RABBIT_PUBLISHER_DEFAULTS,
  type ExchangeType,
  type NormalizedRabbitPublisherOptions,
  type RabbitPublisherOptions,
} from './options.js';
export { defaultRoute, resolveRoute, type Route } from './routing.js';
export {
  AMQP_CLOUDEVENTS_PREFIX,
  OUTBOX_HEADERS,
  readOutboxHeaders,
  toAmqpMessage,
  type AmqpMessage,
  type AmqpMessageProperties,
  type OutboxMessageInfo,
} from './wire-format.js';
export { createInboxConsumer, type InboxConsumer, type InboxConsumerStats } from './inbox-consumer.js';
export { CONSUMER_SETUP_FAILED } from './consumer-setup.js';
export {
  INBOX_CONSUMER_DEFAULTS,
  normalizeInboxConsumerOptions,
  type DeadLetterOptions,
  type InboxConsumerOptions,
  type InboxObserver,
  type InboxOrderingOptions,
  type NormalizedInboxConsumerOptions,
} from './inbox-options.js';
export { INBOX_HEADERS, decodeInboxEvent } from './inbox-message.js';
export { createInboxMetrics, type InboxMetrics, type PromClientLike } from './inbox-metrics.js';
export {
  listDeadLetters,
  redeliverDeadLetters,
  type DeadLetter,
  type DeadLetterQueueOptions,
  type RedeliverOptions,
  type RedeliverResult,
} from './dead-letters.js';
