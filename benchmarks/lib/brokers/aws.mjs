// Amazon SQS and SNS side of the broker scenario, on a private fauxqs (an emulator: see
// EMULATORS in index.mjs) the scenario started: a FIFO queue of its own (SQS) or a FIFO topic with
// a FIFO queue subscribed with raw delivery (SNS), long-polling consumers that count distinct
// event ids, the relay's publisher for that destination and the official SDK client baseline.
import { DeleteMessageBatchCommand, DeleteQueueCommand, PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DeleteTopicCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { MESSAGE_HEADERS } from '@outboxkit/core';
import { createSnsPublisher, createSqsPublisher, defaultDestination, messageGroupId, toAwsMessage } from '@outboxkit/sqs';
import { awsBrokerUrl, awsClientOptions } from '@outboxkit/testkit';
import { sleep, uniqueName } from '../util.mjs';
import { idCounter } from './id-counter.mjs';

// Receivers in parallel, each asking for SQS's maximum of 10 messages: one receiver (a round trip
// per 10 messages, and on a FIFO queue a group is held until its batch is deleted) would make the
// consumer, not the publisher, the bottleneck.
const RECEIVERS = 8;
// Short, as stopping a consumer waits for its polls under way.
const WAIT_SECONDS = 1;

/**
 * @param {'sqs'|'sns'} service
 * @param {import('@outboxkit/testkit').FauxqsServer} fauxqs  the emulator the scenario started
 * @returns {Promise<import('./index.mjs').Broker>}
 */
export async function openAwsBroker(service, fauxqs, prefix = 'bench') {
  const name = uniqueName(prefix);
  const routing = { prefix: name, fifo: true };
  // Every benchmark event is an `order`: one destination, the one the publisher's default rule names.
  const destination = defaultDestination({ aggregateType: 'order', destination: null }, routing);
  const endpoint = fauxqs.url;
  let queueUrl;
  let topicArn;
  if (service === 'sqs') queueUrl = (await fauxqs.createQueue(destination)).url;
  else ({ queueUrl, topicArn } = await fauxqs.createTopicWithQueue(destination, `${name}-q.fifo`));
  const admin = new SQSClient(awsClientOptions(endpoint));
  const consumers = new Set();
  const connection = awsBrokerUrl(endpoint, service);

  return {
    kind: service,
    async consume(onMessage) {
      const { counter, received } = idCounter(onMessage, () => stop());
      const client = new SQSClient(awsClientOptions(endpoint));
      let stopping = false;
      const receiver = async () => {
        while (!stopping) {
          try {
            // Never aborted: a long poll the client gave up on could still take messages, which the
            // next consumer of the queue would then see only after their visibility timeout (30 s).
            const { Messages = [] } = await client.send(
              new ReceiveMessageCommand({
                QueueUrl: queueUrl,
                MaxNumberOfMessages: 10,
                WaitTimeSeconds: WAIT_SECONDS,
                MessageAttributeNames: [MESSAGE_HEADERS.eventId],
              }),
            );
            if (Messages.length === 0) continue;
            const at = performance.now();
            for (const message of Messages) received(message.MessageAttributes?.[MESSAGE_HEADERS.eventId]?.StringValue, at);
            const Entries = Messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle }));
            await client.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries }));
          } catch {
            // A failed poll is polled again; one that keeps failing fails the figure (the wait for its events times out).
            if (!stopping) await sleep(100);
          }
        }
      };
      const done = Promise.all(Array.from({ length: RECEIVERS }, receiver));
      // Waits for the polls under way (at most WAIT_SECONDS), counting and deleting what they bring.
      const stop = async () => {
        consumers.delete(stop);
        stopping = true;
        await done;
        client.destroy();
      };
      consumers.add(stop);
      return counter;
    },
    publisher: (create = service === 'sqs' ? createSqsPublisher : createSnsPublisher) =>
      create(service === 'sqs' ? { connection, queuePrefix: name, fifo: true } : { connection, topicPrefix: name, fifo: true }),
    async rawClient() {
      // A client of its own, as the relay's publisher has; the same body, attributes, message
      // group (the aggregate) and deduplication id (the event id), one SendMessage / Publish per
      // event. The relay's publisher batches concurrent publishes (SendMessageBatch / PublishBatch).
      const own = new (service === 'sqs' ? SQSClient : SNSClient)(awsClientOptions(endpoint));
      const request = (event) => {
        const { body, attributes } = toAwsMessage(event);
        const shared = { MessageAttributes: attributes, MessageGroupId: messageGroupId(event), MessageDeduplicationId: event.id };
        return service === 'sqs'
          ? new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, ...shared })
          : new PublishCommand({ TopicArn: topicArn, Message: body, ...shared });
      };
      return { send: (event) => own.send(request(event)), close: async () => own.destroy() };
    },
    async purge() {
      await admin.send(new PurgeQueueCommand({ QueueUrl: queueUrl }));
    },
    async close() {
      for (const stop of [...consumers]) await stop();
      await admin.send(new DeleteQueueCommand({ QueueUrl: queueUrl })).catch(() => {});
      if (topicArn !== undefined) {
        const sns = new SNSClient(awsClientOptions(endpoint));
        await sns.send(new DeleteTopicCommand({ TopicArn: topicArn })).catch(() => {});
        sns.destroy();
      }
      admin.destroy();
    },
  };
}
