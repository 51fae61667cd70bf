export { createPubsubPublisher, type PubsubPublisher } from './publisher.js';
export { normalizePubsubPublisherOptions, PUBSUB_PUBLISHER_DEFAULTS, type NormalizedPubsubPublisherOptions, type PubsubPublisherOptions } from './options.js';
export { parsePubsubUrl } from './connection.js';
export { defaultTopic, orderingKey, resolveTopic } from './routing.js';
export { toPubsubMessage, type PubsubMessage } from './wire-format.js';
export { createPubsubInboxConsumer, type PubsubInboxConsumer } from './inbox-consumer.js';
export { normalizePubsubInboxConsumerOptions, type NormalizedPubsubInboxConsumerOptions, type PubsubInboxConsumerOptions } from './inbox-options.js';
export { listDeadLetters, redeliverDeadLetters, type PubsubDeadLetterOptions, type PubsubRedeliverOptions } from './dead-letters.js';
