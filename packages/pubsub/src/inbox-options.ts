import {
  normalizeRedeliveryInboxOptions,
  OutboxConfigError,
  type NormalizedRedeliveryInboxOptions,
  type RedeliveryInboxOptions,
  type SqlExecutor,
} from '@outboxkit/core';
import type { PubSub } from '@google-cloud/pubsub';
import { normalizePubsubClient, type PubsubClientTarget } from './connection.js';

export interface PubsubInboxConsumerOptions<Tx = SqlExecutor> extends RedeliveryInboxOptions<Tx> {
  /** A `PubSub` client you own, or a URL: `pubsub://my-project`, `pubsub+http://127.0.0.1:8085/my-project`. */
  connection: PubSub | string;
  /** The subscription to consume (create it with message ordering enabled for per-aggregate order). */
  subscription: string;
  /**
   * The topic dead letters are published to. Default: the subscription's dead-letter topic
   * (its deadLetterPolicy); a subscription without one then fails the setup.
   */
  deadLetterTopic?: string;
}

export interface NormalizedPubsubInboxConsumerOptions<Tx> extends NormalizedRedeliveryInboxOptions<Tx> {
  readonly connection: PubsubClientTarget;
  readonly subscription: string;
  readonly deadLetterTopic: string | null;
}

const BROKER_KEYS = ['connection', 'subscription', 'deadLetterTopic'];
const NAME = /^(projects\/[a-z][a-z0-9-]{4,28}[a-z0-9]\/(subscriptions|topics)\/)?(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/;

/** Validates `createPubsubInboxConsumer` options once; throws {@link OutboxConfigError} naming the option. */
export function normalizePubsubInboxConsumerOptions<Tx>(options: PubsubInboxConsumerOptions<Tx>): NormalizedPubsubInboxConsumerOptions<Tx> {
  const common = normalizeRedeliveryInboxOptions(options, BROKER_KEYS);
  return Object.freeze({
    ...common,
    connection: normalizePubsubClient(options.connection),
    subscription: name(options.subscription, 'subscription'),
    deadLetterTopic: options.deadLetterTopic === undefined ? null : name(options.deadLetterTopic, 'deadLetterTopic'),
  });
}

function name(value: unknown, option: string): string {
  if (typeof value !== 'string' || !NAME.test(value))
    throw new OutboxConfigError(
      option,
      `must be a Pub/Sub ${option === 'subscription' ? 'subscription' : 'topic'} id or full name, got ${JSON.stringify(value)}`,
    );
  return value;
}
