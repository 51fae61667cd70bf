export { createRedisPublisher, type RedisPublisher } from './publisher.js';
export { normalizeRedisPublisherOptions, REDIS_PUBLISHER_DEFAULTS, type NormalizedRedisPublisherOptions, type RedisPublisherOptions } from './options.js';
export { defaultStream, resolveStream } from './routing.js';
export { fromStreamFields, PAYLOAD_FIELD, toStreamFields } from './wire-format.js';
export type { RedisClient } from './connection.js';
export { createRedisInboxConsumer, type RedisInboxConsumer } from './inbox-consumer.js';
export { normalizeRedisInboxConsumerOptions, type NormalizedRedisInboxConsumerOptions, type RedisInboxConsumerOptions } from './inbox-options.js';
export { listDeadLetters, redeliverDeadLetters, type RedisDeadLetterOptions, type RedisRedeliverOptions } from './dead-letters.js';
