import { createHash } from 'node:crypto';
import { PublishError, type StoredEvent } from '@outboxkit/core';

/** The routing options both publishers share. */
export interface RoutingConfig {
  /** First part of the default name, `<prefix>-<aggregateType>`. */
  readonly prefix: string;
  /** Append `.fifo` to default names. */
  readonly fifo: boolean;
  readonly route: ((event: StoredEvent) => string) | null;
}

// Queue names: 1-80 of [A-Za-z0-9_-], FIFO ones ending in .fifo (within the 80); topics up to 256.
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,75}(\.fifo)?$|^[A-Za-z0-9_-]{1,80}$/;
const TOPIC_NAME = /^[A-Za-z0-9_-]{1,251}(\.fifo)?$|^[A-Za-z0-9_-]{1,256}$/;
const QUEUE_URL = /^https?:\/\/[^/\s]+\/\d{12}\/[A-Za-z0-9_.-]{1,80}$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]{1,256}$/;
// MessageGroupId: up to 128 of letters, digits and ASCII punctuation.
const GROUP_ID = /^[A-Za-z0-9!-/:-@[-`{-~]{1,128}$/;

/** True for a FIFO queue or topic (name, URL or ARN): SQS and SNS tell them by the `.fifo` suffix. */
export function isFifo(destination: string): boolean {
  return destination.endsWith('.fifo');
}

/**
 * The default routing rule: `event.destination` when it is set (a queue name or URL, a topic name
 * or ARN), otherwise `<prefix>-<aggregateType>`, with `.fifo` when `fifo` is on. Every event of one
 * aggregate goes to one destination, whose FIFO group is the aggregate.
 *
 * @example
 * defaultDestination(event, { prefix: 'outbox', fifo: true, route: null }); // 'outbox-order.fifo'
 */
export function defaultDestination(event: StoredEvent, config: Pick<RoutingConfig, 'prefix' | 'fifo'>): string {
  return event.destination ?? `${config.prefix}-${event.aggregateType}${config.fifo ? '.fifo' : ''}`;
}

/** The queue for `event` (a name or a queue URL); one SQS cannot take is a permanent `invalid-destination`. */
export function resolveQueue(event: StoredEvent, config: RoutingConfig): string {
  const queue = routed(event, config);
  if (typeof queue === 'string' && (QUEUE_NAME.test(queue) || QUEUE_URL.test(queue))) return queue;
  throw new PublishError(
    'invalid-destination',
    `event ${event.id} routes to ${describe(queue)}, which is not an SQS queue name (1-80 letters, digits, - or _, FIFO ones ending in .fifo) or queue URL; ` +
      "fix the event's type, aggregateType or destination, or the route option",
  );
}

/** The topic for `event` (a name or an ARN); one SNS cannot take is a permanent `invalid-destination`. */
export function resolveTopic(event: StoredEvent, config: RoutingConfig): string {
  const topic = routed(event, config);
  if (typeof topic === 'string' && (TOPIC_NAME.test(topic) || TOPIC_ARN.test(topic))) return topic;
  throw new PublishError(
    'invalid-destination',
    `event ${event.id} routes to ${describe(topic)}, which is not an SNS topic name (1-256 letters, digits, - or _, FIFO ones ending in .fifo) or topic ARN; ` +
      "fix the event's aggregateType or destination, or the route option",
  );
}

/**
 * The FIFO message group of an event: its aggregate (`<aggregateType>:<aggregateId>`), so SQS and
 * SNS keep each aggregate's order and deliver other aggregates in parallel. A key SQS would refuse
 * (over 128 characters, non-ASCII) is replaced by its SHA-256, which still names one aggregate.
 */
export function messageGroupId(event: Pick<StoredEvent, 'aggregateType' | 'aggregateId'>): string {
  const key = `${event.aggregateType}:${event.aggregateId}`;
  return GROUP_ID.test(key) ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;
}

function routed(event: StoredEvent, config: RoutingConfig): unknown {
  try {
    return config.route ? config.route(event) : defaultDestination(event, config);
  } catch (error) {
    throw new PublishError(
      'invalid-destination',
      `the route option threw for event ${event.id}: ${error instanceof Error ? error.message : String(error)}; fix the routing rule`,
      { cause: error },
    );
  }
}

function describe(value: unknown): string {
  return JSON.stringify(typeof value === 'string' ? value.slice(0, 120) : value) ?? String(value);
}
