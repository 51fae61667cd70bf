import { CONSUMER_SETUP_FAILED, ConsumerStartup, OutboxError, scrub } from '@outboxkit/core';
import { codeOf } from './classify.js';

export { CONSUMER_SETUP_FAILED };

/** What the messages of a failed setup name: the consumer, its queue, and what it was told to declare. */
export interface ConsumerSetupContext {
  readonly consumer: string;
  readonly queue: string;
  readonly declareQueue: boolean;
  readonly declareExchanges: boolean;
  /** Strings to remove from driver messages (the owned URL's password). */
  readonly secrets: readonly string[];
}

/**
 * What `ready()` waits for (core's {@link ConsumerStartup}), with RabbitMQ's reasons worded:
 * rabbitmq-client retries a failed setup by itself and reports only the first failure of a
 * series, so until a setup succeeds `ready()` rejects with the latest failure and a hint.
 */
export class ConsumerSetup {
  readonly #context: ConsumerSetupContext;
  readonly #startup = new ConsumerStartup();

  constructor(context: ConsumerSetupContext) {
    this.#context = context;
  }

  get started(): boolean {
    return this.#startup.started;
  }

  wait(): Promise<void> {
    return this.#startup.wait();
  }

  succeeded(): void {
    this.#startup.succeeded();
  }

  /** A setup step (declare, bind, consume) or the connection failed before the first start. */
  failed(error: unknown, stage: 'setup' | 'connection'): void {
    if (!this.#startup.started) this.#startup.failed(this.#describe(error, stage));
  }

  #describe(error: unknown, stage: 'setup' | 'connection'): OutboxError {
    const { consumer, queue, secrets } = this.#context;
    const code = codeOf(error);
    // rabbitmq-client prefixes its setup errors; the broker's own words follow.
    const reason = scrub(error instanceof Error ? error.message : String(error), secrets)
      .replace(/^consumer setup failed; /, '')
      .replace(/^undefined: /, '');
    const where = stage === 'connection' ? 'cannot reach RabbitMQ' : 'RabbitMQ refused the setup';
    return new OutboxError(
      CONSUMER_SETUP_FAILED,
      `inbox consumer "${consumer}" could not start on queue "${queue}": ${where} (${reason}${code && !reason.includes(code) ? ` [${code}]` : ''}). ${this.#hint(code, reason, stage)}`,
      { cause: error },
    );
  }

  #hint(code: string | undefined, reason: string, stage: 'setup' | 'connection'): string {
    const { declareQueue, declareExchanges } = this.#context;
    if (stage === 'connection') {
      return code === 'ACCESS_REFUSED'
        ? 'Check the user name, the password and the vhost; the consumer keeps retrying'
        : 'Check the URL and that the broker is running; the consumer keeps retrying';
    }
    if (code === 'NOT_FOUND' && /no exchange/.test(reason)) {
      return declareExchanges
        ? 'Bind to an exchange the consumer may declare, or declare it first'
        : 'With declareExchanges: false the exchange must exist: start the relay once (it declares its exchange), or declare it yourself';
    }
    if (code === 'NOT_FOUND' && /no queue/.test(reason) && !declareQueue) {
      return 'With declareQueue: false the queue must exist: declare it first, or leave declareQueue on';
    }
    if (code === 'PRECONDITION_FAILED') {
      return (
        'An exchange or queue of that name already exists with other arguments. Declare it the way outboxkit does ' +
        '(exchanges: topic, durable; queues: durable), or set declareExchanges: false / declareQueue: false to use it as it is'
      );
    }
    if (code === 'ACCESS_REFUSED') return "Check the user's permissions on the vhost (configure to declare, write to bind, read to consume)";
    return 'The consumer keeps retrying; see the broker log';
  }
}
