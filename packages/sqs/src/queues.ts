import { GetQueueAttributesCommand, GetQueueUrlCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** An inbox consumer's queue and its dead-letter queue, as URLs. */
export interface InboxQueues {
  readonly url: string;
  readonly deadLetterUrl: string;
}

/**
 * The URLs of `queue` and of its dead-letter queue: `deadLetterQueue` when given, else the
 * queue's redrive target. A name or a URL each.
 */
export async function inboxQueues(client: SQSClient, queue: string, deadLetterQueue: string | null, signal?: AbortSignal): Promise<InboxQueues> {
  const url = await queueUrl(client, queue, undefined, signal);
  if (deadLetterQueue !== null) return { url, deadLetterUrl: await queueUrl(client, deadLetterQueue, undefined, signal) };
  const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['RedrivePolicy'] }), { abortSignal: signal });
  const target =
    Attributes?.RedrivePolicy === undefined ? undefined : (JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn?: string }).deadLetterTargetArn;
  if (target === undefined) {
    throw new Error(
      `queue ${queue} has no redrive policy and deadLetterQueue is not set; give the queue a dead-letter queue (RedrivePolicy) or set deadLetterQueue`,
    );
  }
  // arn:aws:sqs:<region>:<account>:<name>
  const [, , , , account, name] = target.split(':');
  return { url, deadLetterUrl: await queueUrl(client, name!, account, signal) };
}

/** The URL of a queue given by name (in `owner`'s account) or already as a URL. */
export async function queueUrl(client: SQSClient, queue: string, owner?: string, signal?: AbortSignal): Promise<string> {
  if (/^https?:\/\//.test(queue)) return queue;
  const { QueueUrl } = await client.send(new GetQueueUrlCommand({ QueueName: queue, ...(owner === undefined ? {} : { QueueOwnerAWSAccountId: owner }) }), {
    abortSignal: signal,
  });
  return QueueUrl!;
}
