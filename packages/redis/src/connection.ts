import { OutboxConfigError, PublishError, redactUrl, scrub, secretsOf } from '@outboxkit/core';
import { createClient } from 'redis';

/** The part of a node-redis client the publisher and consumer use (any `createClient()` result fits). */
export type RedisClient = ReturnType<typeof createClient>;

/** A client to use as it is, or the URL of one to open (and own). */
export type RedisConnectionTarget = { readonly kind: 'shared'; readonly instance: RedisClient } | { readonly kind: 'owned'; readonly url: string };

/** Checks a `redis://` / `rediss://` URL or a client; URL errors never show the password. */
export function normalizeRedisConnection(connection: unknown, option = 'connection'): RedisConnectionTarget {
  if (typeof connection === 'string') {
    let url: URL;
    try {
      url = new URL(connection);
    } catch {
      throw new OutboxConfigError(option, `${redactUrl(connection)} is not a valid URL; expected redis://user:password@host:6379/0`);
    }
    if (url.protocol !== 'redis:' && url.protocol !== 'rediss:')
      throw new OutboxConfigError(option, `${redactUrl(connection)} uses ${url.protocol}; use redis:// or rediss://`);
    if (url.hostname === '') throw new OutboxConfigError(option, `${redactUrl(connection)} has no host; expected redis://host:6379`);
    return { kind: 'owned', url: connection };
  }
  // Structural: two copies of node-redis would defeat `instanceof`.
  if (connection !== null && typeof connection === 'object' && typeof (connection as RedisClient).xAdd === 'function') {
    return { kind: 'shared', instance: connection as RedisClient };
  }
  throw new OutboxConfigError(option, 'expected a redis:// URL or a client from createClient() of the redis package');
}

/** Wait between reconnect attempts, growing to this bound. */
const MAX_RECONNECT_WAIT_MS = 2000;

/**
 * One node-redis client and what is known about its connection, so a command can fail fast as a
 * transient `connection` error while the server is known to be down. An owned client has no
 * offline queue (a command sent while disconnected is refused, not held for later) and reconnects
 * for ever.
 */
export class RedisLink {
  readonly client: RedisClient;
  readonly #owned: boolean;
  readonly #where: string;
  readonly #secrets: readonly string[];
  readonly #connected: Promise<void>;
  readonly #firstOutcome: Promise<void>;
  #lastError: unknown = null;
  #everReady = false;

  constructor(target: RedisConnectionTarget, name: string) {
    this.#owned = target.kind === 'owned';
    this.#where = target.kind === 'owned' ? ` at ${redactUrl(target.url)}` : '';
    this.#secrets = target.kind === 'owned' ? secretsOf(target.url) : [];
    this.client =
      target.kind === 'owned'
        ? createClient({
            url: target.url,
            name,
            disableOfflineQueue: true,
            socket: { connectTimeout: 5000, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, MAX_RECONNECT_WAIT_MS) },
          })
        : target.instance;
    // An EventEmitter without an 'error' listener throws; a shared client keeps its owner's listeners too.
    this.client.on('error', this.#onError);
    this.client.on('ready', this.#onReady);
    if (this.client.isReady) this.#onReady();
    this.#connected = this.#owned
      ? this.client.connect().then(
          () => undefined,
          (error: unknown) => this.#onError(error),
        )
      : Promise.resolve();
    // The first connect attempt either succeeds or reports an error; either ends a publish's wait.
    this.#firstOutcome = Promise.race([this.#connected, new Promise<void>((resolve) => this.client.once('error', () => resolve()))]);
  }

  get up(): boolean {
    return this.client.isReady;
  }

  /**
   * Resolves once the client is ready. Before the first connection it waits (bounded by the
   * caller's deadline); afterwards, while the connection is down, it fails at once.
   */
  async ready(signal: AbortSignal): Promise<void> {
    if (this.client.isReady) return;
    if (this.#everReady || this.#lastError !== null) throw this.downError();
    // An 'abort' listener added to an aborted signal never fires.
    signal.throwIfAborted();
    await Promise.race([this.#firstOutcome, new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }))]);
    if (!this.client.isReady) throw this.downError();
  }

  downError(): PublishError {
    const cause = this.#lastError;
    return new PublishError(
      'connection',
      `cannot reach Redis${this.#where}${cause === null ? '' : `: ${this.text(cause)}`}. The event stays pending; the client keeps reconnecting`,
    );
  }

  /** A sentence for error messages: why a command could not complete. */
  describe(): string {
    if (!this.client.isReady) return `the connection to Redis${this.#where} is down${this.#lastError === null ? '' : ` (${this.text(this.#lastError)})`}`;
    return `the connection to Redis${this.#where} is up, so Redis is slow to reply`;
  }

  text(error: unknown): string {
    return scrub(error instanceof Error ? error.message : String(error), this.#secrets);
  }

  /** Closes an owned client; a shared one is left as it was. */
  async close(): Promise<void> {
    this.client.off('ready', this.#onReady);
    if (!this.#owned) {
      this.client.off('error', this.#onError);
      return;
    }
    if (this.client.isOpen) await this.client.close().catch(() => this.client.destroy());
    await this.#connected;
    this.client.off('error', this.#onError);
  }

  readonly #onError = (error: unknown): void => {
    this.#lastError = error;
  };

  readonly #onReady = (): void => {
    this.#everReady = true;
    this.#lastError = null;
  };
}
