import {
  OutboxConfigError,
  PublishError,
  PublishDeadlines,
  PublishesInFlight,
  redactUrl,
  scrub,
  secretsOf,
  tracePublish,
  type NormalizedMessageFormat,
  type PublishAttempt,
  type Publisher,
  type StoredEvent,
} from '@outboxkit/core';
import { Connection, type Publisher as AmqpPublisher } from 'rabbitmq-client';
import { classifySendError, codeOf } from './classify.js';
import { ConnectionMonitor } from './connection-state.js';
import { exchangeDeclaration, ExchangeDirectory } from './exchanges.js';
import { normalizeRabbitPublisherOptions, type NormalizedRabbitPublisherOptions, type RabbitPublisherOptions } from './options.js';
import { ReturnTracker } from './returns.js';
import { resolveRoute, type Route } from './routing.js';
import { toAmqpMessage, type AmqpMessage } from './wire-format.js';
import { WriteCoalescer } from './write-coalescing.js';

/** A {@link Publisher} for RabbitMQ. `close()` waits for publishes in flight, then closes. */
export interface RabbitPublisher extends Publisher {
  /** Resolves once RabbitMQ confirmed the event and routed it to at least one queue. */
  publish(event: StoredEvent): Promise<void>;
  /** True while the connection is open and not blocked by a broker resource alarm. */
  isConnected(): boolean;
  /** Resolves once connected; rejects with the reason (ACCESS_REFUSED, ECONNREFUSED, ...; no password) while RabbitMQ is unreachable. */
  connected(signal: AbortSignal): Promise<void>;
  /** Waits for publishes in flight, closes the channel, and closes the connection if it was given as a URL. */
  close(): Promise<void>;
}

/**
 * Creates the RabbitMQ publisher: publisher confirms, mandatory routing (unroutable events
 * fail instead of vanishing), and every failure classified as permanent or transient.
 *
 * @example
 * const publisher = createRabbitPublisher({ connection: 'amqp://guest:guest@localhost:5672' });
 * await publisher.publish(event); // confirmed and routed, or a PublishError
 * await publisher.close();
 */
export function createRabbitPublisher(options: RabbitPublisherOptions): RabbitPublisher {
  return new ConfirmingRabbitPublisher(normalizeRabbitPublisherOptions(options));
}

class ConfirmingRabbitPublisher implements RabbitPublisher {
  readonly #config: NormalizedRabbitPublisherOptions;
  readonly #connection: Connection;
  readonly #ownsConnection: boolean;
  readonly #secrets: readonly string[];
  readonly #monitor: ConnectionMonitor;
  readonly #channel: AmqpPublisher;
  readonly #returns = new ReturnTracker();
  readonly #exchanges: ExchangeDirectory;
  readonly #inFlight = new PublishesInFlight('RabbitMQ');
  readonly #deadlines: PublishDeadlines;
  readonly #writes: WriteCoalescer;

  constructor(config: NormalizedRabbitPublisherOptions) {
    this.#config = config;
    if (config.connection.kind === 'owned') {
      const { url } = config.connection;
      this.#connection = openConnection(url);
      this.#ownsConnection = true;
      this.#secrets = secretsOf(url);
      this.#monitor = new ConnectionMonitor(this.#connection, ` at ${redactUrl(url)}`, this.#secrets);
    } else {
      this.#connection = config.connection.instance;
      this.#ownsConnection = false;
      this.#secrets = [];
      this.#monitor = new ConnectionMonitor(this.#connection, '', []);
    }
    const declared = config.declareExchange ? [config.exchange] : [];
    // Declared through the publisher (not once here) so rabbitmq-client redeclares the exchange
    // on the new channel after every reconnect.
    this.#channel = this.#connection.createPublisher({
      confirm: true,
      exchanges: declared.map((exchange) => exchangeDeclaration(exchange, config.exchangeType)),
    });
    this.#channel.on('basic.return', (message) => this.#returns.onReturn(message));
    this.#exchanges = new ExchangeDirectory(this.#connection, declared);
    this.#writes = new WriteCoalescer(this.#connection);
    // Bounds a publish, including the wait for the connection, by confirmTimeoutMs.
    this.#deadlines = new PublishDeadlines({
      timeoutMs: config.confirmTimeoutMs,
      option: 'confirmTimeoutMs',
      awaited: 'confirmed',
      describe: () => this.#monitor.describe(),
    });
  }

  isConnected(): boolean {
    return !this.#inFlight.closed && this.#ready();
  }

  connected(signal: AbortSignal): Promise<void> {
    return this.#monitor.waitUntilReady(signal);
  }

  publish(event: StoredEvent): Promise<void> {
    return this.#inFlight.run(event, () => this.#publish(event));
  }

  close(): Promise<void> {
    return this.#inFlight.close(() => this.#shutDown());
  }

  async #publish(event: StoredEvent): Promise<void> {
    const message = toAmqpMessage(event, {}, this.#config.messageFormat);
    const route = resolveRoute(event, this.#config);
    try {
      // The publish span (a no-op without an OpenTelemetry SDK) is the writer's child; its own
      // context replaces the writer's in the message headers so the consumer becomes its child.
      await tracePublish(event, { system: 'rabbitmq', destination: route.exchange, routingKey: route.routingKey }, (trace) =>
        this.#deadlines.run(event, (attempt) => this.#send(event, route, withTrace(message, event, this.#config.messageFormat, trace), attempt)),
      );
    } catch (err) {
      // Waiting for a channel or checking an exchange can fail with a raw driver error too; the
      // contract is that publish only ever rejects with a PublishError.
      throw classifySendError(err, { eventId: event.id, target: describeRoute(route), secrets: this.#secrets });
    }
  }

  async #send(event: StoredEvent, route: Route, message: AmqpMessage, attempt: PublishAttempt): Promise<void> {
    // Checked on the final message: in structured mode the trace context is part of the body.
    if (message.body.length > this.#config.maxMessageBytes) throw this.#tooLarge(event, message);
    // Ready: no wait, so no signal to create for it.
    if (!this.#ready()) await this.#monitor.waitUntilReady(attempt.signal);
    if (!this.#exchanges.isKnown(route.exchange) && !(await this.#exchanges.exists(route.exchange))) throw missingExchange(event, route);
    // Sending after the deadline would publish an event already reported as failed.
    attempt.throwIfExpired();
    const ticket = this.#returns.begin(event.id);
    try {
      try {
        this.#writes.beforeSend();
        await this.#channel.send({ ...message.properties, exchange: route.exchange, routingKey: route.routingKey }, message.body);
      } catch (err) {
        throw await this.#classify(err, event, route);
      }
      // The confirm resolves send() before rabbitmq-client emits basic.return (on a setImmediate
      // queued earlier): once the returns queued by now are emitted, this message's was seen.
      await this.#returns.returnsSeen();
      if (ticket.returnedWith !== null) {
        throw new PublishError(
          'unroutable',
          `RabbitMQ returned event ${event.id} (${ticket.returnedWith}): no queue is bound to ${describeRoute(route)} — ` +
            "bind a queue (start the consumer), or fix the event's destination",
          { destination: describeRoute(route) },
        );
      }
    } finally {
      ticket.end();
    }
  }

  /** Connected and not blocked; the socket held corked by this tick's sends does not count as blocked. */
  #ready(): boolean {
    return this.#writes.holding || this.#monitor.ready;
  }

  #tooLarge(event: StoredEvent, message: AmqpMessage): PublishError {
    return new PublishError(
      'too-large',
      `event ${event.id} (${event.type}) has a ${message.body.length}-byte body; maxMessageBytes is ${this.#config.maxMessageBytes}. ` +
        "Store large data elsewhere and put a reference in the payload, or raise maxMessageBytes (and the broker's max_message_size)",
    );
  }

  async #classify(err: unknown, event: StoredEvent, route: Route): Promise<PublishError> {
    if (codeOf(err) !== 'NOT_FOUND' || route.exchange === '') {
      return classifySendError(err, { eventId: event.id, target: describeRoute(route), secrets: this.#secrets });
    }
    // The broker closed the channel over a missing exchange, and rabbitmq-client blames the
    // oldest unconfirmed message, which may be another event's. Ask the broker whose it was.
    this.#exchanges.forget(route.exchange);
    const exists = this.#exchanges.isRedeclared(route.exchange) || (await this.#exchanges.exists(route.exchange).catch(() => true));
    if (!exists) return missingExchange(event, route, err);
    return new PublishError(
      'connection',
      `the publishing channel was closed by the broker (${err instanceof Error ? err.message : String(err)}) before event ${event.id} ` +
        'was confirmed; the channel is reopened (and its exchange redeclared) on the next publish',
      { cause: err },
    );
  }

  async #shutDown(): Promise<void> {
    // A publisher whose channel never opened (broker unreachable) rejects close(); nothing is
    // left to release then.
    await this.#channel.close().catch(() => undefined);
    this.#monitor.detach();
    if (this.#ownsConnection) {
      // Keep a listener while closing: a late socket error must not become an uncaught 'error'.
      const ignore = (): void => undefined;
      this.#connection.on('error', ignore);
      await this.#connection.close();
      this.#connection.off('error', ignore);
    }
  }
}

/**
 * Opens the owned connection. rabbitmq-client's own URL errors are replaced, not wrapped:
 * Node's URL errors carry the raw input, password included.
 */
function openConnection(url: string): Connection {
  try {
    return new Connection({ url, connectionName: 'outboxkit-publisher' });
  } catch (err) {
    throw new OutboxConfigError(
      'connection',
      `rabbitmq-client cannot use ${redactUrl(url)}: ${scrub(err instanceof Error ? err.message : String(err), secretsOf(url))}; expected amqp://user:password@host:5672/vhost`,
    );
  }
}

function missingExchange(event: StoredEvent, route: Route, cause?: unknown): PublishError {
  return new PublishError(
    'invalid-destination',
    `event ${event.id} is routed to exchange "${route.exchange}", which does not exist. ` +
      "Declare the exchange, or fix the event's destination or the route option",
    { cause, destination: `exchange "${route.exchange}"` },
  );
}

/** The message with the publish span's trace context, wherever the format carries it. */
function withTrace(message: AmqpMessage, event: StoredEvent, format: NormalizedMessageFormat, trace: Readonly<Record<string, string>>): AmqpMessage {
  return Object.keys(trace).length === 0 ? message : toAmqpMessage(event, trace, format);
}

function describeRoute(route: Route): string {
  return route.exchange === '' ? `queue "${route.routingKey}" (default exchange)` : `exchange "${route.exchange}" with routing key "${route.routingKey}"`;
}
