export { createPubsubPublisher, type PubsubPublisher } from './publisher.js';
export { normalizePubsubPublisherOptions, PUBSUB_PUBLISHER_DEFAULTS, type NormalizedPubsubPublisherOptions, type PubsubPublisherOptions } from './options.js';
export { parsePubsubUrl } from './connection.js';
export { defaultTopic, orderingKey, resolveTopic } from './routing.js';
export { toPubsubMessage, type PubsubMessage } from './wire-format.js';
