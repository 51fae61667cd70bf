import type { Connection } from 'rabbitmq-client';
import type { ExchangeType } from './options.js';

/**
 * How outboxkit declares an exchange, the publisher and the inbox consumer alike: durable, no
 * other arguments. Declaring it twice with different arguments fails with PRECONDITION_FAILED,
 * so both sides take the declaration from here and whichever starts first creates it.
 */
export function exchangeDeclaration(exchange: string, type: ExchangeType): { exchange: string; type: ExchangeType; durable: true } {
  return { exchange, type, durable: true };
}

/** Exchanges nobody may declare: the default one and the broker's own `amq.*`. */
export function isPredeclaredExchange(exchange: string): boolean {
  return exchange === '' || exchange.startsWith('amq.');
}

/**
 * Knows which exchanges exist, checking unknown ones with a passive declare on a short-lived
 * channel of their own.
 *
 * Why not just publish? Publishing to a missing exchange makes the broker close the publishing
 * channel, and rabbitmq-client then rejects the OLDEST unconfirmed message with NOT_FOUND and
 * every other in-flight one with CH_CLOSE: under pipelining the blame can land on an innocent
 * event. Checking first keeps the shared channel open; the NOT_FOUND path remains for an
 * exchange deleted after it was checked, and is verified with {@link exists} too.
 *
 * Only positive answers are cached, so an exchange created later is found on the next publish.
 */
export class ExchangeDirectory {
  readonly #connection: Connection;
  readonly #declared: ReadonlySet<string>;
  readonly #known: Set<string>;
  readonly #checking = new Map<string, Promise<boolean>>();

  /** `declared`: exchanges the publisher declares itself, again after every reconnect. */
  constructor(connection: Connection, declared: readonly string[]) {
    this.#connection = connection;
    this.#declared = new Set(declared);
    this.#known = new Set(['', ...declared]);
  }

  /** The default exchange and the declared ones come back with the publishing channel. */
  isRedeclared(exchange: string): boolean {
    return exchange === '' || this.#declared.has(exchange);
  }

  /** Known to exist, without asking the broker: the publisher's hot path skips {@link exists}. */
  isKnown(exchange: string): boolean {
    return this.#known.has(exchange);
  }

  exists(exchange: string): Promise<boolean> {
    if (this.#known.has(exchange)) return Promise.resolve(true);
    let check = this.#checking.get(exchange);
    if (!check) {
      check = this.#check(exchange).finally(() => this.#checking.delete(exchange));
      this.#checking.set(exchange, check);
    }
    return check;
  }

  /** Drops a cached answer after the broker said the exchange is gone. */
  forget(exchange: string): void {
    if (!this.isRedeclared(exchange)) this.#known.delete(exchange);
  }

  async #check(exchange: string): Promise<boolean> {
    const channel = await this.#connection.acquire();
    try {
      await channel.exchangeDeclare({ exchange, passive: true });
      this.#known.add(exchange);
      return true;
    } catch (err) {
      if ((err as { code?: unknown }).code === 'NOT_FOUND') return false;
      throw err;
    } finally {
      // A failed passive declare has already closed the channel; close() is then a no-op.
      await channel.close();
    }
  }
}
