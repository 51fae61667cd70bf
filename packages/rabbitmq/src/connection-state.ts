import { PublishError, scrub } from '@outboxkit/core';
import type { Connection } from 'rabbitmq-client';

interface Waiter {
  resolve(): void;
  reject(err: unknown): void;
}

/**
 * Follows one rabbitmq-client Connection so a publish can wait for it to be usable, and fail
 * fast, as a transient `connection` error, while it is known to be down (the relay's breaker
 * then pauses instead of queueing sends that would only time out).
 *
 * Listening to `error` also keeps an owned connection's errors from crashing the process
 * (an EventEmitter without an `error` listener throws).
 */
export class ConnectionMonitor {
  readonly #connection: Connection;
  /** ` at amqp://user:***@host/` for an owned connection; empty for a shared one. */
  readonly #where: string;
  readonly #secrets: readonly string[];
  readonly #waiters = new Set<Waiter>();
  #downSince: unknown = null;
  #blockedReason: string | null = null;

  constructor(connection: Connection, where: string, secrets: readonly string[]) {
    this.#connection = connection;
    this.#where = where;
    this.#secrets = secrets;
    connection.on('connection', this.#onConnected);
    connection.on('connection.blocked', this.#onBlocked);
    connection.on('connection.unblocked', this.#onUnblocked);
    connection.on('error', this.#onError);
  }

  /** Connected and not blocked by a broker resource alarm. */
  get ready(): boolean {
    return this.#connection.ready;
  }

  /**
   * Resolves once the connection is ready. Rejects with a transient `PublishError('connection')`
   * when it is known to be down or fails while waiting, and with `signal.reason` when aborted.
   */
  waitUntilReady(signal: AbortSignal): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.#downSince !== null) return Promise.reject(this.#downError(this.#downSince));
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => settle(() => reject(signal.reason));
      const settle = (finish: () => void): void => {
        this.#waiters.delete(waiter);
        signal.removeEventListener('abort', onAbort);
        finish();
      };
      const waiter: Waiter = {
        resolve: () => settle(resolve),
        reject: (err) => settle(() => reject(err)),
      };
      this.#waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A sentence for error messages: why a publish could not complete. */
  describe(): string {
    if (this.#blockedReason !== null) return `the broker has blocked publishing (${this.#blockedReason}), usually a memory or disk alarm`;
    if (this.#downSince !== null) return `the connection to RabbitMQ${this.#where} is down (${this.#text(this.#downSince)})`;
    if (!this.ready) return `the connection to RabbitMQ${this.#where} is not established yet`;
    return `the connection to RabbitMQ${this.#where} is up, so the broker is slow to confirm`;
  }

  /** Removes the listeners; a shared connection is left as it was found. */
  detach(): void {
    this.#connection.off('connection', this.#onConnected);
    this.#connection.off('connection.blocked', this.#onBlocked);
    this.#connection.off('connection.unblocked', this.#onUnblocked);
    this.#connection.off('error', this.#onError);
  }

  readonly #onConnected = (): void => {
    this.#downSince = null;
    this.#wakeIfReady();
  };

  readonly #onBlocked = (reason: string): void => {
    this.#blockedReason = reason || 'no reason given';
  };

  readonly #onUnblocked = (): void => {
    this.#blockedReason = null;
    this.#wakeIfReady();
  };

  readonly #onError = (err: unknown): void => {
    // The connection also re-emits errors of other channels here while it stays up; only an
    // error while not connected means the broker is unreachable.
    if (this.ready) return;
    this.#downSince = err;
    const failure = this.#downError(err);
    for (const waiter of [...this.#waiters]) waiter.reject(failure);
  };

  #wakeIfReady(): void {
    if (!this.ready) return;
    for (const waiter of [...this.#waiters]) waiter.resolve();
  }

  #downError(cause: unknown): PublishError {
    return new PublishError(
      'connection',
      `cannot reach RabbitMQ${this.#where}: ${this.#text(cause)}. The event stays pending; rabbitmq-client keeps reconnecting`,
      { cause },
    );
  }

  #text(err: unknown): string {
    if (!(err instanceof Error)) return scrub(String(err), this.#secrets);
    const code = (err as { code?: unknown }).code;
    // rabbitmq-client prefixes handshake errors with the (absent) method name: "undefined: ".
    let message = err.message.replace(/^undefined: /, '').replace(/\.+$/, '');
    if (typeof code === 'string' && !message.includes(code)) message += ` [${code}]`;
    if (code === 'ACCESS_REFUSED') message += '; check the user name, the password and the vhost permissions';
    return scrub(message, this.#secrets);
  }
}
