import { PublishDeadlines, PublishError, PublishesInFlight, tracePublish, type PublishAttempt, type Publisher, type StoredEvent } from '@outboxkit/core';
import { jetstream, type JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { classifyNatsError, isNoResponders } from './classify.js';
import { NatsLink } from './connection.js';
import { normalizeNatsPublisherOptions, type NatsPublisherOptions, type NormalizedNatsPublisherOptions } from './options.js';
import { resolveSubject } from './routing.js';
import { StreamDirectory } from './streams.js';
import { toMsgHdrs, toNatsMessage } from './wire-format.js';

/** A {@link Publisher} for NATS JetStream. `close()` waits for publishes in flight, then closes. */
export interface NatsPublisher extends Publisher {
  /** Resolves once JetStream stored the event in a stream (its PubAck), or had it already (`duplicate`). */
  publish(event: StoredEvent): Promise<void>;
  /** True while the connection is up (not reconnecting). */
  isConnected(): boolean;
  /** Resolves once connected; rejects with the reason (no password) while NATS is unreachable. */
  connected(signal: AbortSignal): Promise<void>;
  /** Waits for publishes in flight, then closes the connection if it was given as a URL. */
  close(): Promise<void>;
}

/**
 * Creates the JetStream publisher: every event is published with `Nats-Msg-Id` = its id and
 * awaited until its PubAck, so a relay's re-publish within the stream's duplicate window is
 * stored once; a subject no stream captures fails as a permanent `invalid-destination`.
 *
 * @example
 * const publisher = createNatsPublisher({ connection: 'nats://127.0.0.1:4222' });
 * await publisher.publish(event); // stored in stream OUTBOX, or a PublishError
 * await publisher.close();
 */
export function createNatsPublisher(options: NatsPublisherOptions): NatsPublisher {
  return new JetStreamPublisher(normalizeNatsPublisherOptions(options));
}

class JetStreamPublisher implements NatsPublisher {
  readonly #config: NormalizedNatsPublisherOptions;
  readonly #link: NatsLink;
  readonly #streams: StreamDirectory;
  readonly #inFlight = new PublishesInFlight('NATS');
  readonly #deadlines: PublishDeadlines;
  #client: { readonly nc: NatsConnection; readonly js: JetStreamClient } | null = null;

  constructor(config: NormalizedNatsPublisherOptions) {
    this.#config = config;
    this.#link = new NatsLink(config.connection, 'outboxkit-publisher');
    this.#streams = new StreamDirectory(config);
    this.#deadlines = new PublishDeadlines({
      timeoutMs: config.ackTimeoutMs,
      option: 'ackTimeoutMs',
      awaited: 'acknowledged by JetStream',
      describe: () => this.#link.describe(),
    });
  }

  isConnected(): boolean {
    return !this.#inFlight.closed && this.#link.up;
  }

  async connected(signal: AbortSignal): Promise<void> {
    await this.#link.connection(signal);
  }

  publish(event: StoredEvent): Promise<void> {
    return this.#inFlight.run(event, () => this.#publish(event));
  }

  close(): Promise<void> {
    return this.#inFlight.close(() => this.#link.close());
  }

  async #publish(event: StoredEvent): Promise<void> {
    const subject = resolveSubject(event, this.#config);
    try {
      // The publish span (a no-op without an OpenTelemetry SDK) is the writer's child; its
      // context replaces the writer's in the headers so the consumer becomes its child.
      await tracePublish(event, { system: 'nats', destination: subject }, (trace) =>
        this.#deadlines.run(event, (attempt) => this.#send(event, subject, trace, attempt)),
      );
    } catch (error) {
      throw classifyNatsError(error, { eventId: event.id, subject, text: (e) => this.#link.text(e) });
    }
  }

  async #send(event: StoredEvent, subject: string, trace: Record<string, string>, attempt: PublishAttempt): Promise<void> {
    const message = toNatsMessage(event, trace, this.#config.messageFormat);
    const limit = this.#config.maxMessageBytes;
    if (message.data.length > limit) throw tooLarge(event, message.data.length, `maxMessageBytes is ${limit}`);
    // Up: no wait, so no signal to create for it.
    const nc = this.#link.current ?? (await this.#link.connection(attempt.signal));
    const serverLimit = nc.info?.max_payload;
    if (serverLimit !== undefined && message.data.length > serverLimit)
      throw tooLarge(event, message.data.length, `the server's max_payload is ${serverLimit}`);
    if (this.#config.declareStream) await this.#streams.ensureDeclared(nc);
    // Sending after the deadline would publish an event already reported as failed.
    attempt.throwIfExpired();
    try {
      // A `duplicate` PubAck means the stream stored this id within its duplicate window
      // already (a re-publish after a relay crash): the event is published.
      await this.#jetstream(nc).publish(subject, message.data, { msgID: event.id, headers: toMsgHdrs(message.headers), timeout: this.#config.ackTimeoutMs });
    } catch (error) {
      if (!isNoResponders(error)) throw error;
      throw await this.#unanswered(nc, event, subject, error);
    }
  }

  /** Nobody answered the publish: either no stream captures the subject (the event's fault) or the stream is unavailable. */
  async #unanswered(nc: NatsConnection, event: StoredEvent, subject: string, cause: unknown): Promise<PublishError> {
    const stream = await this.#streams.capturing(nc, subject).catch(() => undefined);
    if (stream === null) {
      return new PublishError(
        'invalid-destination',
        `no JetStream stream captures subject "${subject}" (event ${event.id}). Add the subject to a stream ` +
          `(e.g. nats stream add ${this.#config.stream} --subjects '${this.#config.subjectPrefix}.>'), or fix the event's destination or the route option`,
        { cause },
      );
    }
    return new PublishError(
      'connection',
      `JetStream did not answer for subject "${subject}" (event ${event.id})${stream ? `, which stream ${stream} captures` : ''}; ` +
        'the stream may be restarting or JetStream disabled on the server. It will be retried',
      { cause },
    );
  }

  #jetstream(nc: NatsConnection): JetStreamClient {
    if (this.#client?.nc !== nc) this.#client = { nc, js: jetstream(nc) };
    return this.#client.js;
  }
}

function tooLarge(event: StoredEvent, bytes: number, limit: string): PublishError {
  return new PublishError(
    'too-large',
    `event ${event.id} (${event.type}) has a ${bytes}-byte payload; ${limit}. ` +
      "Store large data elsewhere and put a reference in the payload, or raise maxMessageBytes (and the server's max_payload)",
  );
}
