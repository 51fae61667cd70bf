import {
  booleanOption,
  integerOption,
  MESSAGE_FORMAT_OPTION_NAMES,
  normalizeMessageFormat,
  OutboxConfigError,
  type MessageFormatOptions,
  type NormalizedMessageFormat,
  type StoredEvent,
} from '@outboxkit/core';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { normalizeAwsClient, type AwsClientTarget, type AwsService } from './connection.js';
import type { RoutingConfig } from './routing.js';
import { MAX_MESSAGE_ATTRIBUTES } from './wire-format.js';

/**
 * Options both publishers take. `format` and `cloudEventsSource` choose the wire format; SQS and
 * SNS take `native` and `cloudevents-structured` (docs/cloudevents.md says why not binary).
 */
interface CommonPublisherOptions extends MessageFormatOptions {
  /**
   * Append `.fifo` to default destination names (FIFO queues/topics: per-aggregate order and
   * deduplication by event id within 5 minutes). A destination of your own is FIFO when its name ends in `.fifo`.
   * @default false
   */
  fifo?: boolean;
  /**
   * Budget of one publish, from the call to the service's answer (retries of the SDK included).
   * Past it the publish fails as a transient `timeout`.
   * @default 10000
   */
  sendTimeoutMs?: number;
  /**
   * Largest message in bytes as AWS counts it (body plus attribute names, types and values);
   * larger events fail as a permanent `too-large` before anything is sent.
   * @default 262144 (256 KiB; SQS queues may allow up to 1 MiB: raise it to the queue's MaximumMessageSize)
   */
  maxMessageBytes?: number;
  /**
   * Up to this many concurrent publishes to one destination go out as one `SendMessageBatch` /
   * `PublishBatch` request (each still resolves or fails on its own). 1 sends one request per event.
   * @default 10
   */
  maxBatchSize?: number;
  /** Your own routing rule, replacing the default one: a queue name or URL (SQS), a topic name or ARN (SNS). */
  route?: (event: StoredEvent) => string;
}

export interface SqsPublisherOptions extends CommonPublisherOptions {
  /**
   * An `SQSClient` you own (the publisher leaves it as it is on `close()`), or a URL:
   * `sqs://eu-west-1` for AWS (credentials from the SDK's default chain), or
   * `sqs+http://127.0.0.1:4566?region=us-east-1` for another endpoint such as an emulator.
   */
  connection: SQSClient | string;
  /** Default queue names are `<queuePrefix>-<aggregateType>` (`.fifo` appended with `fifo`). @default 'outbox' */
  queuePrefix?: string;
}

export interface SnsPublisherOptions extends CommonPublisherOptions {
  /**
   * An `SNSClient` you own, or a URL: `sns://eu-west-1/123456789012` for AWS (the path is the
   * topics' account), or `sns+http://127.0.0.1:4566/000000000000?region=us-east-1`.
   */
  connection: SNSClient | string;
  /** Default topic names are `<topicPrefix>-<aggregateType>` (`.fifo` appended with `fifo`). @default 'outbox' */
  topicPrefix?: string;
  /** The 12-digit account owning the topics, for their ARNs; defaults to the URL's path. */
  account?: string;
}

export interface NormalizedPublisherOptions<Client> {
  readonly connection: AwsClientTarget<Client>;
  readonly routing: RoutingConfig;
  readonly sendTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly maxBatchSize: number;
  /** `native`, or `cloudevents-structured` with its source. */
  readonly messageFormat: NormalizedMessageFormat;
}

export interface NormalizedSnsPublisherOptions extends NormalizedPublisherOptions<SNSClient> {
  readonly account: string;
}

export const SQS_PUBLISHER_DEFAULTS = Object.freeze({
  queuePrefix: 'outbox',
  fifo: false,
  sendTimeoutMs: 10_000,
  maxMessageBytes: 256 * 1024,
  maxBatchSize: 10,
});

export const SNS_PUBLISHER_DEFAULTS = Object.freeze({
  topicPrefix: 'outbox',
  fifo: false,
  sendTimeoutMs: 10_000,
  maxMessageBytes: 256 * 1024,
  maxBatchSize: 10,
});

const MAX_TIMER_MS = 2_147_483_647;
// SQS's largest message (a queue's MaximumMessageSize can be raised to it); SNS takes 256 KiB.
const MAX_MESSAGE_BYTES = 1024 * 1024;
const COMMON_KEYS = ['connection', 'fifo', 'sendTimeoutMs', 'maxMessageBytes', 'maxBatchSize', 'route', ...MESSAGE_FORMAT_OPTION_NAMES];
const PREFIX = /^[A-Za-z0-9_-]{1,40}$/;

/** Validates `createSqsPublisher` options once and fills in defaults; throws {@link OutboxConfigError} naming the option. */
export function normalizeSqsPublisherOptions(options: SqsPublisherOptions): NormalizedPublisherOptions<SQSClient> {
  checkKeys(options, [...COMMON_KEYS, 'queuePrefix'], 'sqs://eu-west-1');
  return Object.freeze(common<SQSClient>(options, 'sqs', prefix(options.queuePrefix, 'queuePrefix')));
}

/** Validates `createSnsPublisher` options once and fills in defaults; throws {@link OutboxConfigError} naming the option. */
export function normalizeSnsPublisherOptions(options: SnsPublisherOptions): NormalizedSnsPublisherOptions {
  checkKeys(options, [...COMMON_KEYS, 'topicPrefix', 'account'], 'sns://eu-west-1/123456789012');
  const base = common<SNSClient>(options, 'sns', prefix(options.topicPrefix, 'topicPrefix'));
  const account = options.account ?? (base.connection.kind === 'owned' ? base.connection.account : undefined);
  if (typeof account !== 'string' || !/^\d{12}$/.test(account)) {
    throw new OutboxConfigError(
      'account',
      `${account === undefined ? 'is required' : `must be a 12-digit AWS account id, got ${JSON.stringify(account)}`}: the account owning the topics, for their ARNs (or the URL's path, sns://eu-west-1/123456789012)`,
    );
  }
  return Object.freeze({ ...base, account });
}

function checkKeys(options: object, known: readonly string[], example: string): void {
  if (options === null || typeof options !== 'object') throw new OutboxConfigError('options', `expected an object like { connection: "${example}" }`);
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new OutboxConfigError(key, `unknown option; known: ${known.join(', ')}`);
  }
}

function prefix(value: unknown, option: string): string {
  const text = value ?? 'outbox';
  if (typeof text !== 'string' || !PREFIX.test(text)) throw new OutboxConfigError(option, `must be 1-40 letters, digits, - or _, got ${JSON.stringify(text)}`);
  return text;
}

function common<Client>(
  options: CommonPublisherOptions & { connection: unknown },
  service: AwsService,
  namePrefix: string,
): NormalizedPublisherOptions<Client> {
  const defaults = SQS_PUBLISHER_DEFAULTS;
  const route = options.route ?? null;
  if (route !== null && typeof route !== 'function')
    throw new OutboxConfigError('route', `must be a function (event) => ${service === 'sqs' ? 'queue name or URL' : 'topic name or ARN'}`);
  return {
    connection: normalizeAwsClient<Client>(options.connection, service),
    routing: Object.freeze({ prefix: namePrefix, fifo: booleanOption(options.fifo, 'fifo', defaults.fifo), route }),
    sendTimeoutMs: integerOption(options.sendTimeoutMs, 'sendTimeoutMs', defaults.sendTimeoutMs, 1, MAX_TIMER_MS),
    maxMessageBytes: integerOption(options.maxMessageBytes, 'maxMessageBytes', defaults.maxMessageBytes, 1, MAX_MESSAGE_BYTES),
    maxBatchSize: integerOption(options.maxBatchSize, 'maxBatchSize', defaults.maxBatchSize, 1, 10),
    messageFormat: awsMessageFormat(options),
  };
}

/**
 * Binary mode is refused: it needs 10 message attributes for the CloudEvents attributes alone
 * (11 with a trace context), and SQS carries at most 10, so nearly every event would fail.
 */
function awsMessageFormat(options: MessageFormatOptions): NormalizedMessageFormat {
  const format = normalizeMessageFormat(options);
  if (format.format === 'cloudevents-binary') {
    throw new OutboxConfigError(
      'format',
      `cloudevents-binary is not available on SQS/SNS: its attributes need 10-11 message attributes and SQS carries at most ${MAX_MESSAGE_ATTRIBUTES}; use cloudevents-structured (the whole CloudEvent in the body)`,
    );
  }
  return format;
}
