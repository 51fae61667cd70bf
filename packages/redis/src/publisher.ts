import { PublishDeadlines, PublishError, PublishesInFlight, tracePublish, type PublishAttempt, type Publisher, type StoredEvent } from '@outboxkit/core';
import { classifyRedisError } from './classify.js';
import { RedisLink } from './connection.js';
import { normalizeRedisPublisherOptions, type NormalizedRedisPublisherOptions, type RedisPublisherOptions } from './options.js';
import { resolveStream } from './routing.js';
import { PAYLOAD_FIELD, toStreamFields } from './wire-format.js';

/** A {@link Publisher} for Redis Streams. `close()` waits for publishes in flight, then closes. */
export interface RedisPublisher extends Publisher {
  /**
   * Resolves once Redis replied to the `XADD` with the entry id. That reply means the entry is in
   * the server's memory; whether it is on disk depends on the server's `appendfsync` (see docs/redis.md).
   */
  publish(event: StoredEvent): Promise<void>;
  /** True while the client is connected. */
  isConnected(): boolean;
  /** Resolves once connected; rejects with the reason (no password) while Redis is unreachable. */
  connected(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/**
 * Creates the Redis Streams publisher: one `XADD` per event to the stream its routing rule names,
 * with the event id and headers as fields, optionally trimmed with `MAXLEN ~`.
 *
 * @example
 * const publisher = createRedisPublisher({ connection: 'redis://127.0.0.1:6379' });
 * await publisher.publish(event); // XADD outbox:<aggregateType> * x-outbox-event-id … x-outbox-payload {…}
 * await publisher.close();
 */
export function createRedisPublisher(options: RedisPublisherOptions): RedisPublisher {
  return new StreamPublisher(normalizeRedisPublisherOptions(options));
}

class StreamPublisher implements RedisPublisher {
  readonly #config: NormalizedRedisPublisherOptions;
  readonly #link: RedisLink;
  readonly #inFlight = new PublishesInFlight('Redis');
  readonly #deadlines: PublishDeadlines;

  constructor(config: NormalizedRedisPublisherOptions) {
    this.#config = config;
    this.#link = new RedisLink(config.connection, 'outboxkit-publisher');
    this.#deadlines = new PublishDeadlines({
      timeoutMs: config.replyTimeoutMs,
      option: 'replyTimeoutMs',
      awaited: 'acknowledged by Redis',
      describe: () => this.#link.describe(),
    });
  }

  isConnected(): boolean {
    return !this.#inFlight.closed && this.#link.up;
  }

  connected(signal: AbortSignal): Promise<void> {
    return this.#link.ready(signal);
  }

  publish(event: StoredEvent): Promise<void> {
    return this.#inFlight.run(event, () => this.#publish(event));
  }

  close(): Promise<void> {
    return this.#inFlight.close(() => this.#link.close());
  }

  async #publish(event: StoredEvent): Promise<void> {
    const stream = resolveStream(event, this.#config);
    try {
      await tracePublish(event, { system: 'redis', destination: stream }, (trace) =>
        this.#deadlines.run(event, (attempt) => this.#send(event, stream, toStreamFields(event, trace, this.#config.messageFormat), attempt)),
      );
    } catch (error) {
      throw classifyRedisError(error, { eventId: event.id, stream, text: (e) => this.#link.text(e) });
    }
  }

  async #send(event: StoredEvent, stream: string, fields: Record<string, string>, attempt: PublishAttempt): Promise<void> {
    const bytes = Buffer.byteLength(fields[PAYLOAD_FIELD]!);
    if (bytes > this.#config.maxMessageBytes) {
      throw new PublishError(
        'too-large',
        `event ${event.id} (${event.type}) has a ${bytes}-byte payload; maxMessageBytes is ${this.#config.maxMessageBytes}. ` +
          'Store large data elsewhere and put a reference in the payload, or raise maxMessageBytes',
      );
    }
    // Ready: no wait, so no signal to create for it.
    if (!this.#link.client.isReady) await this.#link.ready(attempt.signal);
    attempt.throwIfExpired();
    // The deadline's signal drops an XADD not yet written; node-redis's own default timeout
    // (5 s, until written) would only repeat that, at the cost of an AbortSignal.timeout per command.
    const client = this.#link.client.withCommandOptions({ abortSignal: attempt.signal, timeout: undefined });
    const trim =
      this.#config.maxLength === null ? {} : { TRIM: { strategy: 'MAXLEN' as const, strategyModifier: '~' as const, threshold: this.#config.maxLength } };
    if (this.#config.createStreams) {
      await client.xAdd(stream, '*', fields, trim);
      return;
    }
    const id = await client.xAddNoMkStream(stream, '*', fields, trim);
    if (id === null) {
      throw new PublishError(
        'invalid-destination',
        `stream "${stream}" does not exist and createStreams is off (event ${event.id}); create it (XGROUP CREATE ${stream} <group> $ MKSTREAM) or fix the event's destination or the route option`,
      );
    }
  }
}
