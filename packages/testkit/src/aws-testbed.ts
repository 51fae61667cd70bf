/** The account fauxqs puts in queue URLs and ARNs. */
export const FAUXQS_ACCOUNT = '000000000000';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'okt', secretAccessKey: 'okt-secret' };

/** The `sqs+http://` / `sns+http://` broker URL of the publishers for an emulator endpoint (`http://127.0.0.1:<port>`); SNS URLs carry the account. */
export function awsBrokerUrl(endpoint: string, service: 'sqs' | 'sns' = 'sqs'): string {
  const { host } = new URL(endpoint);
  return `${service}+http://${CREDENTIALS.accessKeyId}:${CREDENTIALS.secretAccessKey}@${host}${service === 'sns' ? `/${FAUXQS_ACCOUNT}` : ''}?region=${REGION}`;
}

/** The endpoint of such a broker URL: `sqs+http://k:s@127.0.0.1:4566?...` -> `http://127.0.0.1:4566`. */
export function awsEndpointOf(brokerUrl: string): string {
  const url = new URL(brokerUrl);
  return `${url.protocol.replace(/^s[qn]s\+/, '')}//${url.host}`;
}

/** SDK client options for an emulator endpoint: its region, throwaway credentials, no retries. */
export function awsClientOptions(endpoint: string): { endpoint: string; region: string; credentials: typeof CREDENTIALS; maxAttempts: number } {
  return { endpoint, region: REGION, credentials: { ...CREDENTIALS }, maxAttempts: 1 };
}

/** Creates a queue (FIFO when its name ends in .fifo) and returns its URL and ARN. */
export async function createSqsQueue(endpoint: string, name: string, attributes: Record<string, string> = {}): Promise<{ url: string; arn: string }> {
  const sqs = await import('@aws-sdk/client-sqs');
  const client = new sqs.SQSClient(awsClientOptions(endpoint));
  try {
    const fifo = name.endsWith('.fifo') ? { FifoQueue: 'true' } : {};
    const { QueueUrl } = await client.send(new sqs.CreateQueueCommand({ QueueName: name, Attributes: { ...fifo, ...attributes } }));
    const { Attributes } = await client.send(new sqs.GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
    return { url: QueueUrl!, arn: Attributes!.QueueArn! };
  } finally {
    client.destroy();
  }
}

/**
 * Creates a topic (FIFO when its name ends in .fifo) and a queue subscribed to it, with raw
 * message delivery unless `raw` is false (the queue then gets SNS's JSON notifications). Returns
 * the queue's URL and the topic's ARN.
 */
export async function createSnsTopicWithQueue(endpoint: string, topic: string, queue: string, raw = true): Promise<{ queueUrl: string; topicArn: string }> {
  const sns = await import('@aws-sdk/client-sns');
  const client = new sns.SNSClient(awsClientOptions(endpoint));
  try {
    const fifo: Record<string, string> = topic.endsWith('.fifo') ? { FifoTopic: 'true' } : {};
    const { TopicArn } = await client.send(new sns.CreateTopicCommand({ Name: topic, Attributes: fifo }));
    const { url, arn } = await createSqsQueue(endpoint, queue);
    await client.send(new sns.SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: arn, Attributes: { RawMessageDelivery: String(raw) } }));
    return { queueUrl: url, topicArn: TopicArn! };
  } finally {
    client.destroy();
  }
}
