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
  OUTBOX_HEADERS,
  readOutboxHeaders,
  toAmqpMessage,
  type AmqpMessage,
  type AmqpMessageProperties,
  type OutboxMessageInfo,
} from './wire-format.js';
