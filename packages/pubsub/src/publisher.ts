import { EndpointHealth, PublishDeadlines, PublishError, PublishesInFlight, tracePublish, type Publisher, type StoredEvent } from '@outboxkit/core';
import { PubSub, type Topic } from '@google-cloud/pubsub';
import { classifyPubsubError, isServiceAnswer } from './classify.js';
import { clientOptions } from './connection.js';
import { normalizePubsubPublisherOptions, type PubsubPublisherOptions } from './options.js';
import { orderingKey, resolveTopic } from './routing.js';
import { toPubsubMessage } from './wire-format.js';

/** A {@link Publisher} for Google Cloud Pub/Sub. `close()` waits for publishes in flight. */
export interface PubsubPublisher extends Publisher {
  /** Resolves once Pub/Sub answered with the message id: the message is stored (synchronously replicated) for its subscriptions. */
  publish(event: StoredEvent): Promise<void>;
  isConnected(): boolean;
  /** Resolves once Pub/Sub answered; rejects with the reason while it is unreachable. */
  connected(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * Creates the Pub/Sub publisher: each event is published to the topic its routing rule names
 * (default `outbox-<aggregateType>`) with ordering key = the aggregate, the payload as data and
 * the headers as attributes. After a failed publish the client pauses the event's ordering key (so
 * a later event of the aggregate cannot overtake it); the publisher resumes it, and the relay
 * retries the event first. Topics are never created.
 *
 * @example
 * const publisher = createPubsubPublisher({ connection: 'pubsub://my-project' });
 * await publisher.publish(event); // topic outbox-order, orderingKey order:<id>
 */
export function createPubsubPublisher(options: PubsubPublisherOptions): PubsubPublisher {
  return new TopicPublisher(options);
}

class TopicPublisher implements PubsubPublisher {
  readonly #config;
  readonly #client: PubSub;
  readonly #owned: boolean;
  readonly #where: string;
  readonly #topics = new Map<string, Topic>();
  readonly #inFlight = new PublishesInFlight('Pub/Sub');
  readonly #health: EndpointHealth;
  readonly #deadlines: PublishDeadlines;

  constructor(options: PubsubPublisherOptions) {
    const config = normalizePubsubPublisherOptions(options);
    this.#config = config;
    const target = config.connection;
    this.#owned = target.kind === 'owned';
    this.#client = target.kind === 'owned' ? new PubSub(clientOptions(target)) : target.instance;
    this.#where = target.kind === 'owned' ? target.where : 'the given PubSub client';
    this.#health = new EndpointHealth({
      service: 'Pub/Sub',
      where: this.#where,
      // Any answer, "no such topic" included, proves the endpoint up.
      probe: () => this.#client.topic('outboxkit-probe').getMetadata({ timeout: 5000, maxRetries: 0 }),
      answered: isServiceAnswer,
      aborted: (error) => error instanceof Error && error.name === 'AbortError',
      text: (error) => this.#text(error),
    });
    this.#deadlines = new PublishDeadlines({
      timeoutMs: config.sendTimeoutMs,
      option: 'sendTimeoutMs',
      awaited: 'acknowledged by Pub/Sub',
      describe: () => this.#health.describe(),
    });
  }

  isConnected(): boolean {
    return !this.#inFlight.closed && this.#health.up;
  }

  connected(signal: AbortSignal): Promise<void> {
    return this.#health.connected(signal);
  }

  publish(event: StoredEvent): Promise<void> {
    return this.#inFlight.run(event, () => this.#publish(event));
  }

  close(): Promise<void> {
    return this.#inFlight.close(async () => {
      this.#health.close();
      if (this.#owned) await this.#client.close();
    });
  }

  async #publish(event: StoredEvent): Promise<void> {
    let topic = '';
    try {
      topic = resolveTopic(event, this.#config);
      await tracePublish(event, { system: 'gcp_pubsub', destination: topic }, (trace) => this.#deadlines.run(event, () => this.#send(event, topic, trace)));
    } catch (error) {
      throw classifyPubsubError(error, { eventId: event.id, topic, text: (e) => this.#text(e) });
    }
  }

  async #send(event: StoredEvent, topicName: string, trace: Record<string, string>): Promise<void> {
    const { data, attributes, bytes } = toPubsubMessage(event, trace, this.#config.messageFormat);
    if (bytes > this.#config.maxMessageBytes) {
      throw new PublishError(
        'too-large',
        `event ${event.id} (${event.type}) makes a ${bytes}-byte message; maxMessageBytes is ${this.#config.maxMessageBytes}. Store large data elsewhere and put a reference in the payload`,
      );
    }
    const topic = this.#topic(topicName);
    const key = orderingKey(event);
    try {
      await topic.publishMessage({ data, attributes, orderingKey: key });
      this.#health.observe(null);
    } catch (error) {
      this.#health.observe(error);
      // The client paused the key: nothing of this aggregate goes out until it is resumed, and the
      // relay retries this event before any later one of the aggregate.
      topic.resumePublishing(key);
      throw error;
    }
  }

  /** One Topic per name, with message ordering, batches of what is published in the same millisecond, and the client's retries bounded by the deadline. */
  #topic(name: string): Topic {
    let topic = this.#topics.get(name);
    if (topic === undefined) {
      topic = this.#client.topic(name, {
        messageOrdering: true,
        batching: { maxMessages: 100, maxMilliseconds: 1 },
        gaxOpts: { timeout: this.#config.sendTimeoutMs },
      });
      this.#topics.set(name, topic);
    }
    return topic;
  }

  // Pub/Sub URLs hold no secret (credentials come from Application Default Credentials).
  #text(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
  }
}
