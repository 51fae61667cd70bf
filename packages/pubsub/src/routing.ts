import { createHash } from 'node:crypto';
import { PublishError, type StoredEvent } from '@outboxkit/core';

// Topic ids: 3-255 of letters, digits and - _ . ~ + %, starting with a letter, not with "goog".
const TOPIC_ID = /^(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;
const TOPIC_NAME = /^projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/topics\/(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;
const MAX_ORDERING_KEY_BYTES = 1024;

/**
 * The default routing rule: `event.destination` when it is set (a topic id, or a full
 * `projects/<p>/topics/<t>` name), otherwise `<topicPrefix>-<aggregateType>`.
 *
 * @example
 * defaultTopic(event, 'outbox'); // 'outbox-order'
 */
export function defaultTopic(event: StoredEvent, topicPrefix: string): string {
  return event.destination ?? `${topicPrefix}-${event.aggregateType}`;
}

/** The topic for `event`; one Pub/Sub cannot take is a permanent `invalid-destination`. */
export function resolveTopic(event: StoredEvent, config: { readonly topicPrefix: string; readonly route: ((event: StoredEvent) => string) | null }): string {
  let topic: unknown;
  try {
    topic = config.route ? config.route(event) : defaultTopic(event, config.topicPrefix);
  } catch (error) {
    throw new PublishError(
      'invalid-destination',
      `the route option threw for event ${event.id}: ${error instanceof Error ? error.message : String(error)}; fix the routing rule`,
      { cause: error },
    );
  }
  if (typeof topic === 'string' && (TOPIC_ID.test(topic) || TOPIC_NAME.test(topic))) return topic;
  throw new PublishError(
    'invalid-destination',
    `event ${event.id} routes to ${JSON.stringify(typeof topic === 'string' ? topic.slice(0, 120) : topic)}, which is not a Pub/Sub topic ` +
      '(3-255 letters, digits, - _ . ~ + %, starting with a letter, not "goog"); fix the event\'s aggregateType or destination, or the route option',
  );
}

/**
 * The ordering key of an event: its aggregate (`<aggregateType>:<aggregateId>`), so a subscription
 * with message ordering delivers each aggregate's events in order; over Pub/Sub's 1024 bytes, its SHA-256.
 */
export function orderingKey(event: Pick<StoredEvent, 'aggregateType' | 'aggregateId'>): string {
  const key = `${event.aggregateType}:${event.aggregateId}`;
  return Buffer.byteLength(key) <= MAX_ORDERING_KEY_BYTES ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}
