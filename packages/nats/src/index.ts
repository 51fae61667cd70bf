export { createNatsPublisher, type NatsPublisher } from './publisher.js';
export { normalizeNatsPublisherOptions, NATS_PUBLISHER_DEFAULTS, type NatsPublisherOptions, type NormalizedNatsPublisherOptions } from './options.js';
export { defaultSubject, resolveSubject } from './routing.js';
export { toNatsMessage, type NatsMessage } from './wire-format.js';
export { createNatsInboxConsumer, type NatsInboxConsumer } from './inbox-consumer.js';
export { normalizeNatsInboxConsumerOptions, type NatsInboxConsumerOptions, type NormalizedNatsInboxConsumerOptions } from './inbox-options.js';
export { listDeadLetters, redeliverDeadLetters, type NatsDeadLetterOptions, type NatsRedeliverOptions } from './dead-letters.js';
