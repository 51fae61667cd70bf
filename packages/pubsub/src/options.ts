import {
  integerOption,
  MESSAGE_FORMAT_OPTION_NAMES,
  normalizeMessageFormat,
  OutboxConfigError,
  type MessageFormatOptions,
  type NormalizedMessageFormat,
  type StoredEvent,
} from '@outboxkit/core';
import type { PubSub } from '@google-cloud/pubsub';
import { normalizePubsubClient, type PubsubClientTarget } from './connection.js';

/** `format` and `cloudEventsSource` choose the wire format: outboxkit's headers or a CloudEvent (docs/cloudevents.md). */
export interface PubsubPublisherOptions extends MessageFormatOptions {
  /**
   * A `PubSub` client you own (left open on `close()`), or a URL: `pubsub://my-project` for
   * Google (Application Default Credentials), `pubsub+http://127.0.0.1:8085/my-project` for the emulator.
   */
  connection: PubSub | string;
  /** Default topics are `<topicPrefix>-<aggregateType>`. @default 'outbox' */
  topicPrefix?: string;
  /**
   * Budget of one publish up to Pub/Sub's answer with the message id (the client's own retries
   * included). Past it the publish fails as a transient `timeout`.
   * @default 10000
   */
  sendTimeoutMs?: number;
  /**
   * Largest message in bytes (data plus attributes); larger events fail as a permanent `too-large`.
   * @default 10000000 (Pub/Sub's 10 MB)
   */
  maxMessageBytes?: number;
  /** Your own routing rule: a topic id, or a `projects/<p>/topics/<t>` name. */
  route?: (event: StoredEvent) => string;
}

export interface NormalizedPubsubPublisherOptions {
  readonly connection: PubsubClientTarget;
  readonly topicPrefix: string;
  readonly sendTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly route: ((event: StoredEvent) => string) | null;
  /** `native`, or a CloudEvents mode with its source. */
  readonly messageFormat: NormalizedMessageFormat;
}

export const PUBSUB_PUBLISHER_DEFAULTS = Object.freeze({ topicPrefix: 'outbox', sendTimeoutMs: 10_000, maxMessageBytes: 10_000_000 });

const KNOWN: readonly string[] = ['connection', 'topicPrefix', 'sendTimeoutMs', 'maxMessageBytes', 'route', ...MESSAGE_FORMAT_OPTION_NAMES];

/** Validates `createPubsubPublisher` options once; throws {@link OutboxConfigError} naming the option. */
export function normalizePubsubPublisherOptions(options: PubsubPublisherOptions): NormalizedPubsubPublisherOptions {
  if (options === null || typeof options !== 'object') throw new OutboxConfigError('options', 'expected an object like { connection: "pubsub://my-project" }');
  for (const key of Object.keys(options)) if (!KNOWN.includes(key)) throw new OutboxConfigError(key, `unknown option; known: ${KNOWN.join(', ')}`);
  const defaults = PUBSUB_PUBLISHER_DEFAULTS;
  const topicPrefix = options.topicPrefix ?? defaults.topicPrefix;
  if (typeof topicPrefix !== 'string' || !/^(?!goog)[A-Za-z][A-Za-z0-9\-_.~+%]{0,199}$/.test(topicPrefix)) {
    throw new OutboxConfigError(
      'topicPrefix',
      `must start with a letter and hold letters, digits, - _ . ~ + % (not "goog"), got ${JSON.stringify(topicPrefix)}`,
    );
  }
  const route = options.route ?? null;
  if (route !== null && typeof route !== 'function') throw new OutboxConfigError('route', 'must be a function (event) => topic');
  return Object.freeze({
    connection: normalizePubsubClient(options.connection),
    topicPrefix,
    sendTimeoutMs: integerOption(options.sendTimeoutMs, 'sendTimeoutMs', defaults.sendTimeoutMs, 1, 600_000),
    maxMessageBytes: integerOption(options.maxMessageBytes, 'maxMessageBytes', defaults.maxMessageBytes, 1, defaults.maxMessageBytes),
    route,
    messageFormat: normalizeMessageFormat(options),
  });
}
