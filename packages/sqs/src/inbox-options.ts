import {
  integerOption,
  normalizeRedeliveryInboxOptions,
  OutboxConfigError,
  type NormalizedRedeliveryInboxOptions,
  type RedeliveryInboxOptions,
  type SqlExecutor,
} from '@outboxkit/core';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { normalizeAwsClient, type AwsClientTarget } from './connection.js';

export interface SqsInboxConsumerOptions<Tx = SqlExecutor> extends RedeliveryInboxOptions<Tx> {
  /** An `SQSClient` you own, or a URL: `sqs://eu-west-1`, `sqs+http://127.0.0.1:4566?region=us-east-1`. */
  connection: SQSClient | string;
  /** The queue to consume: a name (looked up with GetQueueUrl) or a queue URL. A queue SNS delivers to works too. */
  queue: string;
  /**
   * Where dead letters go (a queue name or URL). Default: the queue's redrive target (its
   * RedrivePolicy's deadLetterTargetArn); a queue without one then fails the setup.
   */
  deadLetterQueue?: string;
  /**
   * How long a received message stays invisible to other consumers. A handler running longer
   * extends it every half of it (ChangeMessageVisibility), so a slow handler keeps its message.
   * @default 30
   */
  visibilityTimeoutSeconds?: number;
  /** Longest wait of one long poll (ReceiveMessage WaitTimeSeconds); bounds how late close() ends a poll. @default 20 */
  waitTimeSeconds?: number;
}

export interface NormalizedSqsInboxConsumerOptions<Tx> extends NormalizedRedeliveryInboxOptions<Tx> {
  readonly connection: AwsClientTarget<SQSClient>;
  readonly queue: string;
  readonly deadLetterQueue: string | null;
  readonly visibilityTimeoutSeconds: number;
  readonly waitTimeSeconds: number;
}

const BROKER_KEYS = ['connection', 'queue', 'deadLetterQueue', 'visibilityTimeoutSeconds', 'waitTimeSeconds'];
const QUEUE = /^[A-Za-z0-9_.-]{1,80}$|^https?:\/\/\S+$/;

/** Validates `createSqsInboxConsumer` options once; throws {@link OutboxConfigError} naming the option. */
export function normalizeSqsInboxConsumerOptions<Tx>(options: SqsInboxConsumerOptions<Tx>): NormalizedSqsInboxConsumerOptions<Tx> {
  const common = normalizeRedeliveryInboxOptions(options, BROKER_KEYS);
  return Object.freeze({
    ...common,
    connection: normalizeAwsClient<SQSClient>(options.connection, 'sqs'),
    queue: queue(options.queue, 'queue'),
    deadLetterQueue: options.deadLetterQueue === undefined ? null : queue(options.deadLetterQueue, 'deadLetterQueue'),
    // SQS's bounds: up to 12 hours invisible, up to 20 s of long polling.
    visibilityTimeoutSeconds: integerOption(options.visibilityTimeoutSeconds, 'visibilityTimeoutSeconds', 30, 2, 43_200),
    waitTimeSeconds: integerOption(options.waitTimeSeconds, 'waitTimeSeconds', 20, 0, 20),
  });
}

function queue(value: unknown, option: string): string {
  if (typeof value !== 'string' || !QUEUE.test(value)) throw new OutboxConfigError(option, `must be an SQS queue name or URL, got ${JSON.stringify(value)}`);
  return value;
}
