import { DEAD_LETTER_HEADERS, OutboxConfigError } from '@outboxkit/core';
import { awsBrokerUrl, awsClientOptions, createSqsQueue, startFauxqs, storedEvent, uniqueName, type FauxqsServer } from '@outboxkit/testkit';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listDeadLetters, messageGroupId, redeliverDeadLetters, toAwsMessage } from '../src/index.js';

describe('SQS dead letters', () => {
  let fauxqs: FauxqsServer;
  let client: SQSClient;

  beforeAll(async () => {
    fauxqs = await startFauxqs();
    client = new SQSClient(awsClientOptions(fauxqs.url));
  });

  afterAll(async () => {
    client?.destroy();
    await fauxqs?.dispose();
  });

  /** A dead letter as the inbox consumer writes one: the event's message, the dead-letter attributes, a FIFO group of its own. */
  async function deadLetter(deadUrl: string, event: ReturnType<typeof storedEvent>, source: string): Promise<void> {
    const { body, attributes } = toAwsMessage(event);
    for (const [name, value] of Object.entries({
      [DEAD_LETTER_HEADERS.source]: source,
      [DEAD_LETTER_HEADERS.deliveries]: '3',
      [DEAD_LETTER_HEADERS.error]: 'boom',
    }))
      attributes[name] = { DataType: 'String', StringValue: value };
    await client.send(
      new SendMessageCommand({
        QueueUrl: deadUrl,
        MessageBody: body,
        MessageAttributes: attributes,
        MessageGroupId: 'dead-letters',
        MessageDeduplicationId: event.id,
      }),
    );
  }

  it("a FIFO replay reaches the source queue in the aggregate's group, even within SQS's 5-minute deduplication window, without the dead-letter attributes", async () => {
    const name = uniqueName('okt_dlf');
    const dead = await createSqsQueue(fauxqs.url, `${name}-dead.fifo`);
    const source = await createSqsQueue(fauxqs.url, `${name}.fifo`);
    const event = storedEvent({ aggregateId: 'fifo-1' }, 1);
    // The original publish used the event id as its deduplication id a moment ago.
    const { body, attributes } = toAwsMessage(event);
    await client.send(
      new SendMessageCommand({
        QueueUrl: source.url,
        MessageBody: body,
        MessageAttributes: attributes,
        MessageGroupId: messageGroupId(event),
        MessageDeduplicationId: event.id,
      }),
    );
    // Received and deleted, as the consumer does with a message it dead-letters (an undeleted one would hold its FIFO group).
    const original = await client.send(new ReceiveMessageCommand({ QueueUrl: source.url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
    await client.send(new DeleteMessageCommand({ QueueUrl: source.url, ReceiptHandle: original.Messages![0]!.ReceiptHandle }));
    await deadLetter(dead.url, event, `${name}.fifo`);

    const options = { connection: awsBrokerUrl(fauxqs.url), queue: `${name}.fifo`, deadLetterQueue: `${name}-dead.fifo` };
    expect((await listDeadLetters(options)).map((letter) => [letter.id, letter.attempts, letter.error, letter.sourceQueue])).toEqual([
      [event.id, 3, 'boom', `${name}.fifo`],
    ]);
    const result = await redeliverDeadLetters(options);
    expect(result.redelivered.map((letter) => letter.id)).toEqual([event.id]);

    const reply = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: source.url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: 0,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );
    const copies = (reply.Messages ?? []).filter((m) => m.MessageAttributes?.[DEAD_LETTER_HEADERS.source] === undefined);
    expect(copies).toHaveLength(1);
    expect(copies[0]!.Attributes?.MessageGroupId).toBe(messageGroupId(event));
    expect(Object.keys(copies[0]!.MessageAttributes ?? {}).filter((key) => Object.values<string>(DEAD_LETTER_HEADERS).includes(key))).toEqual([]);
    expect(await listDeadLetters(options)).toEqual([]);
  });

  it('refuses bad options with errors that name them', async () => {
    await expect(listDeadLetters({ connection: awsBrokerUrl(fauxqs.url), queue: '' })).rejects.toThrow(OutboxConfigError);
    await expect(listDeadLetters({ connection: awsBrokerUrl(fauxqs.url), queue: 'q', limit: 0 })).rejects.toThrow(
      /limit: must be an integer from 1 to 100000, got 0/,
    );
    await expect(listDeadLetters({ connection: awsBrokerUrl(fauxqs.url), queue: uniqueName('okt_none') })).rejects.toThrow(
      /dead letters of SQS queue "okt_none/,
    );
  });
});
