import {
  EndpointHealth,
  PublishDeadlines,
  PublishError,
  PublishesInFlight,
  tracePublish,
  type NormalizedMessageFormat,
  type Publisher,
  type StoredEvent,
} from '@outboxkit/core';
import { classifyAwsError, isCredentialError, isServiceReply } from './classify.js';
import { isFifo, messageGroupId } from './routing.js';
import { SendBatches } from './send-batches.js';
import { toAwsMessage, type StringAttribute } from './wire-format.js';

/** A {@link Publisher} for SQS or SNS. `close()` waits for publishes in flight. */
export interface AwsPublisher extends Publisher {
  /** Resolves once SQS / SNS answered the send with a message id: AWS stored the message redundantly before answering. */
  publish(event: StoredEvent): Promise<void>;
  /** True while the endpoint answers. */
  isConnected(): boolean;
  /** Resolves once the endpoint answered; rejects with the reason (no secret) while it is unreachable. */
  connected(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

/** One event's message, ready to send. */
export interface OutgoingMessage {
  readonly eventId: string;
  readonly body: string;
  readonly attributes: Record<string, StringAttribute>;
  /** FIFO destinations only: the aggregate and the event id. */
  readonly fifo: { readonly groupId: string; readonly deduplicationId: string } | null;
}

/** What differs between SQS and SNS: naming, the requests, and how a batch reports each entry. */
export interface AwsServiceAdapter {
  readonly service: 'SQS' | 'SNS';
  /** `messaging.system` of the publish span. */
  readonly system: string;
  readonly where: string;
  readonly sendTimeoutMs: number;
  readonly maxMessageBytes: number;
  readonly maxBatchSize: number;
  readonly messageFormat: NormalizedMessageFormat;
  /** Largest batch request in bytes. */
  readonly maxBatchBytes: number;
  /** The destination of an event, as named by the routing rule (throws a permanent PublishError). */
  destination(event: StoredEvent): string;
  sendOne(destination: string, message: OutgoingMessage, signal: AbortSignal): Promise<void>;
  /** One outcome per message: null when accepted, else an error the classifier understands. */
  sendMany(destination: string, messages: readonly OutgoingMessage[], signal: AbortSignal): Promise<readonly unknown[]>;
  /** A cheap request; any answer of the service proves the endpoint reachable. */
  probe(signal: AbortSignal): Promise<unknown>;
  text(error: unknown): string;
  /** Destroys an owned client. */
  close(): void;
}

/**
 * The publish path SQS and SNS share: route, encode (attributes within SQS's 10), check the size,
 * batch with the other publishes of the tick, await the service's answer under the deadline,
 * classify failures, and follow the endpoint's health for the relay's breaker.
 */
export class AwsMessagePublisher implements AwsPublisher {
  readonly #adapter: AwsServiceAdapter;
  readonly #inFlight: PublishesInFlight;
  readonly #health: EndpointHealth;
  readonly #batches: SendBatches<OutgoingMessage>;
  readonly #deadlines: PublishDeadlines;

  constructor(adapter: AwsServiceAdapter) {
    this.#adapter = adapter;
    this.#inFlight = new PublishesInFlight(adapter.service);
    this.#health = new EndpointHealth({
      service: adapter.service,
      where: adapter.where,
      probe: (signal) => adapter.probe(signal),
      answered: (error) => isServiceReply(error) && !isCredentialError(error),
      aborted: (error) => error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError') && !isServiceReply(error),
      text: (error) => adapter.text(error),
    });
    this.#batches = new SendBatches(
      {
        sendOne: (destination, message, signal) => this.#observed(adapter.sendOne(destination, message, signal)),
        sendMany: (destination, messages, signal) => this.#observed(adapter.sendMany(destination, messages, signal)),
      },
      adapter.maxBatchSize,
      adapter.maxBatchBytes,
    );
    this.#deadlines = new PublishDeadlines({
      timeoutMs: adapter.sendTimeoutMs,
      option: 'sendTimeoutMs',
      awaited: `acknowledged by ${adapter.service}`,
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
      this.#adapter.close();
    });
  }

  async #publish(event: StoredEvent): Promise<void> {
    const adapter = this.#adapter;
    let destination = '';
    try {
      destination = adapter.destination(event);
      await tracePublish(event, { system: adapter.system, destination }, (trace) =>
        this.#deadlines.run(event, (attempt) => this.#send(event, destination, trace, attempt.signal)),
      );
    } catch (error) {
      throw classifyAwsError(error, { service: adapter.service, eventId: event.id, destination, text: (e) => adapter.text(e) });
    }
  }

  #send(event: StoredEvent, destination: string, trace: Record<string, string>, signal: AbortSignal): Promise<void> {
    const { body, attributes, bytes } = toAwsMessage(event, trace, this.#adapter.messageFormat);
    if (bytes > this.#adapter.maxMessageBytes) {
      throw new PublishError(
        'too-large',
        `event ${event.id} (${event.type}) makes a ${bytes}-byte message (payload and attributes); maxMessageBytes is ${this.#adapter.maxMessageBytes}. ` +
          'Store large data elsewhere and put a reference in the payload, or raise maxMessageBytes up to what the destination takes',
      );
    }
    const fifo = isFifo(destination) ? { groupId: messageGroupId(event), deduplicationId: event.id } : null;
    return this.#batches.send(destination, { eventId: event.id, body, attributes, fifo }, bytes, signal);
  }

  /** Tells the health tracker how a request went (per request, not per entry: a refused entry still proves the endpoint up). */
  async #observed<T>(request: Promise<T>): Promise<T> {
    try {
      const result = await request;
      this.#health.observe(null);
      return result;
    } catch (error) {
      this.#health.observe(error);
      throw error;
    }
  }
}

/** An error the classifier reads like the SDK's, for one failed entry of a batch reply. */
export function entryError(code: string | undefined, message: string | undefined, senderFault: boolean | undefined): Error {
  const error = new Error(message ?? code ?? 'the entry failed');
  error.name = code ?? 'BatchEntryFailed';
  Object.assign(error, { $fault: senderFault ? 'client' : 'server', $metadata: { httpStatusCode: senderFault ? 400 : 500 } });
  return error;
}
