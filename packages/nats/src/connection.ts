import { OutboxConfigError, PublishError, redactUrl, scrub } from '@outboxkit/core';
import { connect, type NatsConnection, type NodeConnectionOptions } from '@nats-io/transport-node';

/** A connection to use as it is, or the URL of one to open (and own). */
export type NatsConnectionTarget =
  | { readonly kind: 'shared'; readonly instance: NatsConnection }
  | { readonly kind: 'owned'; readonly url: string; readonly options: NodeConnectionOptions; readonly secrets: readonly string[] };

const SCHEMES = new Set(['nats:', 'tls:']);

/**
 * Checks a `nats://` URL (or several, comma-separated) or a connection. Credentials move from the
 * URL into the client's `user`/`pass`/`token` options, so the server list the client logs and
 * reports carries none. Parse errors never keep the raw input (Node's URL errors hold it).
 */
export function normalizeNatsConnection(connection: unknown, option = 'connection'): NatsConnectionTarget {
  if (typeof connection === 'string') return { kind: 'owned', url: connection, ...parseNatsUrl(connection, option) };
  // Structural: two copies of the client would defeat `instanceof`.
  if (connection !== null && typeof connection === 'object' && typeof (connection as NatsConnection).request === 'function') {
    return { kind: 'shared', instance: connection as NatsConnection };
  }
  throw new OutboxConfigError(option, 'expected a nats:// URL or a NatsConnection from @nats-io/transport-node');
}

function parseNatsUrl(text: string, option: string): { options: NodeConnectionOptions; secrets: string[] } {
  const servers: string[] = [];
  const secrets = new Set<string>([text]);
  let credentials: Pick<NodeConnectionOptions, 'user' | 'pass' | 'token'> = {};
  for (const part of text.split(',')) {
    let url: URL;
    try {
      url = new URL(part.trim());
    } catch {
      throw new OutboxConfigError(option, `${redactUrl(part.trim())} is not a valid URL; expected nats://user:password@host:4222`);
    }
    if (!SCHEMES.has(url.protocol)) throw new OutboxConfigError(option, `${redactUrl(part.trim())} uses ${url.protocol}; use nats:// (or tls://)`);
    if (url.hostname === '') throw new OutboxConfigError(option, `${redactUrl(part.trim())} has no host; expected nats://host:4222`);
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    if (user !== '' && pass !== '') credentials = { user, pass };
    else if (user !== '') credentials = { token: user };
    for (const secret of [url.password, pass, url.username && !url.password ? url.username : '', credentials.token ?? '']) if (secret) secrets.add(secret);
    servers.push(`${url.protocol === 'tls:' ? 'tls://' : ''}${url.host}`);
  }
  return { options: { servers, ...credentials }, secrets: [...secrets] };
}

interface Waiter {
  resolve(connection: NatsConnection): void;
  reject(error: unknown): void;
}

/** How long an owned connection waits between failed first connects. */
const RECONNECT_WAIT_MS = 1000;

/**
 * Follows one NATS connection, so a publish can wait for it and fail fast, as a transient
 * `connection` error, while it is known to be down (the relay's breaker then pauses instead of
 * queueing requests that would only time out). An owned connection is opened here and keeps
 * retrying, first connect included; the client itself reconnects after that.
 */
export class NatsLink {
  readonly #where: string;
  readonly #secrets: readonly string[];
  readonly #owned: boolean;
  readonly #waiters = new Set<Waiter>();
  #connection: NatsConnection | null = null;
  #up = false;
  #downCause: unknown = null;
  #closed = false;
  readonly #started: Promise<void>;

  constructor(target: NatsConnectionTarget, name: string) {
    this.#owned = target.kind === 'owned';
    this.#where = target.kind === 'owned' ? ` at ${redactUrl(target.url.split(',')[0]!.trim())}` : '';
    this.#secrets = target.kind === 'owned' ? target.secrets : [];
    this.#started = target.kind === 'owned' ? this.#open(target.options, name) : Promise.resolve(this.#adopt(target.instance));
  }

  /** Connected now (not reconnecting, not closed). */
  get up(): boolean {
    return this.#up && !this.#closed;
  }

  /** The connection when it is up now, else null (then wait with {@link connection}). */
  get current(): NatsConnection | null {
    return this.up ? this.#connection : null;
  }

  /**
   * The connection once it is up. Rejects with a transient `PublishError('connection')` when it is
   * known to be down or fails while waiting, and with `signal.reason` when aborted.
   */
  connection(signal: AbortSignal): Promise<NatsConnection> {
    if (this.#closed) return Promise.reject(new PublishError('connection', `the NATS connection${this.#where} is closed`));
    const current = this.current;
    if (current !== null) return Promise.resolve(current);
    if (this.#downCause !== null) return Promise.reject(this.#downError(this.#downCause));
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<NatsConnection>((resolve, reject) => {
      const onAbort = (): void => settle(() => reject(signal.reason));
      const settle = (finish: () => void): void => {
        this.#waiters.delete(waiter);
        signal.removeEventListener('abort', onAbort);
        finish();
      };
      const waiter: Waiter = { resolve: (nc) => settle(() => resolve(nc)), reject: (error) => settle(() => reject(error)) };
      this.#waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A sentence for error messages: why a publish could not complete. */
  describe(): string {
    if (this.#downCause !== null) return `the connection to NATS${this.#where} is down (${this.#text(this.#downCause)})`;
    if (!this.up) return `the connection to NATS${this.#where} is not established yet`;
    return `the connection to NATS${this.#where} is up, so JetStream is slow to acknowledge`;
  }

  /** Text of a driver error with credentials removed. */
  text(error: unknown): string {
    return this.#text(error);
  }

  /** Closes an owned connection (flushing what is buffered); a shared one is left open. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const waiter of [...this.#waiters]) waiter.reject(new PublishError('connection', `the NATS publisher${this.#where} is closing`));
    await this.#started;
    if (this.#owned && this.#connection !== null && !this.#connection.isClosed()) await this.#connection.close();
  }

  async #open(options: NodeConnectionOptions, name: string): Promise<void> {
    while (!this.#closed) {
      try {
        // Unlimited reconnects: a relay outlives broker restarts; the breaker paces publishes meanwhile.
        // No async traces: with them the client builds two errors with stack traces per request
        // (to show the caller's stack if it times out), which was a sixth of a publish's CPU; the
        // publisher words its own timeouts.
        const nc = await connect({ ...options, name, maxReconnectAttempts: -1, reconnectTimeWait: RECONNECT_WAIT_MS, timeout: 5000, noAsyncTraces: true });
        if (this.#closed) {
          await nc.close();
          return;
        }
        this.#adopt(nc);
        return;
      } catch (error) {
        this.#down(error);
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_WAIT_MS));
      }
    }
  }

  #adopt(nc: NatsConnection): void {
    this.#connection = nc;
    if (nc.isClosed()) {
      this.#down(new Error('the connection is closed'));
      return;
    }
    this.#connected();
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') this.#down(new Error(`disconnected from ${status.server}`));
        else if (status.type === 'reconnect') this.#connected();
        else if (status.type === 'close') this.#down(new Error('the connection was closed'));
        else if (status.type === 'error' && !this.#up) this.#down(status.error);
      }
    })().catch((error: unknown) => this.#down(error));
  }

  #connected(): void {
    this.#up = true;
    this.#downCause = null;
    for (const waiter of [...this.#waiters]) waiter.resolve(this.#connection!);
  }

  #down(cause: unknown): void {
    this.#up = false;
    this.#downCause = cause;
    const failure = this.#downError(cause);
    for (const waiter of [...this.#waiters]) waiter.reject(failure);
  }

  #downError(cause: unknown): PublishError {
    return new PublishError('connection', `cannot reach NATS${this.#where}: ${this.#text(cause)}. The event stays pending; the client keeps reconnecting`, {
      cause: cause instanceof Error ? new Error(this.#text(cause)) : undefined,
    });
  }

  #text(error: unknown): string {
    const message = error instanceof Error ? `${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}` : String(error);
    return scrub(message, this.#secrets);
  }
}
