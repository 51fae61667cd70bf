import { OutboxError } from './errors.js';

/** `code` of the error every inbox consumer's `ready()` rejects with when its setup fails. */
export const CONSUMER_SETUP_FAILED = 'OUTBOX_CONSUMER_SETUP';

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * What an inbox consumer's `ready()` waits for: its first successful setup (connection,
 * declarations, durable consumer or group), or a failure before it. A consumer retries a failed
 * setup by itself, so a rejected `ready()` does not stop it: until a setup succeeds, `ready()`
 * rejects with the latest failure; afterwards it resolves. Without this, a consumer whose broker
 * is unreachable or refuses the setup would make `await consumer.ready()` hang without a word.
 *
 * @example
 * const startup = new ConsumerStartup();
 * try { await setUp(); startup.succeeded(); } catch (error) { startup.failed(setupError('nats', 'billing', error)); }
 */
export class ConsumerStartup {
  readonly #waiters = new Set<Waiter>();
  #started = false;
  #failure: Error | null = null;

  get started(): boolean {
    return this.#started;
  }

  wait(): Promise<void> {
    if (this.#started) return Promise.resolve();
    if (this.#failure !== null) return Promise.reject(this.#failure);
    return new Promise((resolve, reject) => this.#waiters.add({ resolve, reject }));
  }

  succeeded(): void {
    this.#started = true;
    this.#failure = null;
    for (const waiter of this.#waiters) waiter.resolve();
    this.#waiters.clear();
  }

  /** A setup failed before the first start; ignored once started (later failures are reconnects). */
  failed(error: Error): void {
    if (this.#started) return;
    this.#failure = error;
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
  }
}

/**
 * The error `ready()` rejects with: which consumer could not start, the broker's reason
 * (already free of credentials), and that it keeps retrying.
 */
export function consumerSetupError(broker: string, consumer: string, reason: string, cause: unknown): OutboxError {
  return new OutboxError(
    CONSUMER_SETUP_FAILED,
    `inbox consumer "${consumer}" could not start on ${broker}: ${reason}. Check the URL, the credentials and that the broker is running; the consumer keeps retrying`,
    { cause },
  );
}

/**
 * The handlers an inbox consumer runs at once, at most `concurrency`; `close()` waits for them
 * so each finishes its commit and acknowledgement.
 */
export class RunningHandlers {
  readonly #running = new Set<Promise<void>>();

  constructor(private readonly concurrency: number) {}

  /** How many more may start now. */
  get free(): number {
    return this.concurrency - this.#running.size;
  }

  /** Waits until fewer than `concurrency` handlers run. */
  async slot(): Promise<void> {
    while (this.#running.size >= this.concurrency) await Promise.race(this.#running);
  }

  /** Tracks a started handler (which must not reject: report its errors inside). */
  add(handling: Promise<void>): void {
    this.#running.add(handling);
    void handling.finally(() => this.#running.delete(handling));
  }

  /** Resolves once every handler running now has finished. */
  async drain(): Promise<void> {
    await Promise.all(this.#running);
  }
}
