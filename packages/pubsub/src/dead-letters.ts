import { deadLetterLimit, deadLetterOf, DEAD_LETTER_HEADERS, OutboxConfigError, replaySelected, type DeadLetter, type RedeliverResult } from '@outboxkit/core';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { clientOptions, normalizePubsubClient } from './connection.js';
import { orderingKey } from './routing.js';

export interface PubsubDeadLetterOptions {
  /** A `pubsub://` / `pubsub+http://` URL (as the inbox consumer's) or a PubSub client you own. */
  readonly connection: string | PubSub;
  /** The inbox consumer's subscription. */
  readonly subscription: string;
  /**
   * A subscription on the consumer's dead-letter topic, where its dead letters are read (a topic
   * keeps nothing for a reader without a subscription: create one with the topic). By default
   * the only subscription on the dead-letter topic of `subscription`'s dead-letter policy.
   */
  readonly deadLetterSubscription?: string;
  /** Most messages to look at. @default 1000 */
  readonly limit?: number;
}

export interface PubsubRedeliverOptions extends PubsubDeadLetterOptions {
  /** Only these event ids; the others stay in the dead-letter subscription. @default all */
  readonly ids?: readonly string[];
}

/** The stream is read until it has been quiet this long: Pub/Sub has no "that was all". */
const QUIET_MS = 1500;

/**
 * Lists the dead letters of a Pub/Sub inbox consumer without removing them: each message is
 * received and nacked, so the subscription offers it again.
 *
 * @example
 * const letters = await listDeadLetters({ connection: 'pubsub://my-project', subscription: 'billing-orders' });
 */
export async function listDeadLetters(options: PubsubDeadLetterOptions): Promise<DeadLetter[]> {
  return withDeadLetters(options, async (messages) => messages.map(({ letter }) => letter));
}

/**
 * Publishes dead letters again on the topic of the subscription they were consumed from
 * (`x-outbox-source`), with their original attributes, without the dead-letter ones, and with
 * the aggregate's ordering key; each publish is acknowledged by Pub/Sub before the dead letter is
 * acked, so a failure in between duplicates one, never loses it. The consumer's inbox drops any
 * event it already applied.
 *
 * @example
 * await redeliverDeadLetters({ connection: 'pubsub://my-project', subscription: 'billing-orders', ids: ['0190…'] });
 */
export async function redeliverDeadLetters(options: PubsubRedeliverOptions): Promise<RedeliverResult> {
  const deadLetterNames = new Set<string>(Object.values(DEAD_LETTER_HEADERS));
  return withDeadLetters(options, (messages, client) => {
    const topics = new Map<string, Promise<string>>();
    const topicOf = async (subscription: string): Promise<string> => {
      const [metadata] = await client.subscription(subscription).getMetadata();
      if (!metadata.topic) throw new Error(`subscription ${subscription} has no topic`);
      return metadata.topic;
    };
    return replaySelected(messages, options.ids, async ({ message, letter }) => {
      const source = letter.sourceQueue!;
      if (!topics.has(source)) topics.set(source, topicOf(source));
      const attributes = Object.fromEntries(Object.entries(message.attributes).filter(([name]) => !deadLetterNames.has(name)));
      const key =
        letter.aggregateType !== null && letter.aggregateId !== null
          ? orderingKey({ aggregateType: letter.aggregateType, aggregateId: letter.aggregateId })
          : undefined;
      const topic = client.topic(await topics.get(source)!, { messageOrdering: key !== undefined });
      await topic.publishMessage({ data: message.data, attributes, ...(key === undefined ? {} : { orderingKey: key }) });
      await message.ackWithResponse();
    });
  });
}

async function withDeadLetters<T>(
  options: PubsubDeadLetterOptions,
  work: (messages: { message: Message; letter: DeadLetter }[], client: PubSub) => Promise<T>,
): Promise<T> {
  if (typeof options?.subscription !== 'string' || options.subscription.trim() === '')
    throw new OutboxConfigError('subscription', "the inbox consumer's subscription");
  if (options.deadLetterSubscription !== undefined && (typeof options.deadLetterSubscription !== 'string' || options.deadLetterSubscription.trim() === '')) {
    throw new OutboxConfigError('deadLetterSubscription', "a subscription on the consumer's dead-letter topic");
  }
  const limit = deadLetterLimit(options.limit);
  const target = normalizePubsubClient(options.connection);
  const client = target.kind === 'owned' ? new PubSub(clientOptions(target)) : target.instance;
  const received: { message: Message; letter: DeadLetter }[] = [];
  let subscription: Subscription | undefined;
  try {
    const name = options.deadLetterSubscription ?? (await onlyDeadLetterSubscription(client, options.subscription));
    subscription = client.subscription(name, { flowControl: { maxMessages: limit, allowExcessMessages: false } });
    // Bounded: the client would otherwise retry an unreachable endpoint for a minute.
    await subscription.getMetadata({ timeout: 5000, maxRetries: 0 });
    const reading = subscription;
    await new Promise<void>((resolve, reject) => {
      let quiet = setTimeout(resolve, QUIET_MS * 2);
      reading.on('error', reject);
      reading.on('message', (message: Message) => {
        received.push({ message, letter: deadLetterOf({ headers: message.attributes, body: message.data, nativeId: undefined }) });
        clearTimeout(quiet);
        quiet = received.length >= limit ? setTimeout(resolve, 0) : setTimeout(resolve, QUIET_MS);
      });
    });
    return await work(received, client);
  } catch (error) {
    if (error instanceof OutboxConfigError) throw error;
    const where = target.kind === 'owned' ? ` at ${target.where}` : '';
    throw new Error(`dead letters of Pub/Sub subscription "${options.subscription}"${where}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
  } finally {
    // Offered again at once; a message acked above is not.
    for (const { message } of received) message.nack();
    await subscription?.close().catch(() => undefined);
    if (target.kind === 'owned') await client.close();
  }
}

/** The one subscription on the dead-letter topic of `subscription`'s dead-letter policy. */
async function onlyDeadLetterSubscription(client: PubSub, subscription: string): Promise<string> {
  // Bounded: the client would otherwise retry an unreachable endpoint for a minute.
  const [metadata] = await client.subscription(subscription).getMetadata({ timeout: 5000, maxRetries: 0 });
  const topic = metadata.deadLetterPolicy?.deadLetterTopic;
  if (!topic) {
    throw new OutboxConfigError(
      'deadLetterSubscription',
      `is required: subscription ${subscription} has no dead-letter policy; name a subscription on the topic its consumer dead-letters to`,
    );
  }
  const [subscriptions] = await client.topic(topic).getSubscriptions();
  if (subscriptions.length !== 1) {
    throw new OutboxConfigError(
      'deadLetterSubscription',
      `is required: the dead-letter topic ${topic} of ${subscription} has ${subscriptions.length} subscriptions, not one; name the one to read`,
    );
  }
  return subscriptions[0]!.name;
}
