import pg from 'pg';
import { checkKnownOptions, OutboxConfigError, scrubbedError, secretsOf, validateIdentifier, type WakeSource } from '@outboxkit/core';
import { validatePgUrl } from './postgres-driver.js';
import { quoteIdentifier } from './postgres-identifiers.js';
import { POSTGRES_DEFAULTS } from './postgres-options.js';

/** The subset of a connected `pg` Client a listener needs. The listener owns it and ends it. */
export interface PgListenClient {
  query(text: string): Promise<unknown>;
  on(event: 'notification', listener: (message: { channel: string; payload?: string | undefined }) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'end', listener: () => void): unknown;
  end(): Promise<void>;
}

/** `listening`: LISTEN is active. `reconnecting`: the connection was lost or could not be made; a retry is scheduled. */
export type PgListenerState = 'listening' | 'reconnecting' | 'closed';

export interface PgListenerOptions {
  /**
   * A `postgres://` URL (the listener opens its own connection), or a function returning a
   * NEW, connected client each time it is called. Never a pooled client: LISTEN belongs to the
   * session, and the connection must stay dedicated to it.
   * @example () => { const c = new pg.Client(url); return c.connect().then(() => c); }
   */
  connect: string | (() => Promise<PgListenClient>);
  /**
   * The channel the dialect notifies (`dialect.notifyChannel`).
   * @default 'outbox_events'
   */
  channel?: string;
  /**
   * Called when the connection is lost or a reconnect attempt fails, so the relay can warn that
   * it falls back to polling. The message never contains the password of a URL given above.
   */
  onError?: (error: Error) => void;
  /** Called on every state change, e.g. to expose LISTEN health as a metric. */
  onStateChange?: (state: PgListenerState) => void;
  /**
   * Reconnect backoff: doubles from `initialMs` up to `maxMs`, with jitter.
   * @default { initialMs: 250, maxMs: 30000 }
   */
  reconnect?: { initialMs?: number; maxMs?: number };
}

interface NormalizedListenerOptions {
  readonly connect: () => Promise<PgListenClient>;
  readonly secrets: readonly string[];
  readonly channel: string;
  readonly onError: (error: Error) => void;
  readonly onStateChange: (state: PgListenerState) => void;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
}

const LISTENER_DEFAULTS = Object.freeze({ initialDelayMs: 250, maxDelayMs: 30_000 });
const LISTENER_OPTIONS = ['connect', 'channel', 'onError', 'onStateChange', 'reconnect'];

/**
 * A wake-up source for the relay: a DEDICATED connection running `LISTEN`, calling `wake()` on
 * every notification. When the connection is lost it reports the error, reconnects with
 * backoff, and calls `wake()` once LISTEN is active again, because notifications sent while it
 * was not listening are gone. It also wakes once after the first LISTEN, for the same reason.
 * Each `subscribe` opens its own connection; the returned function closes it.
 *
 * @example
 * const wakeups = pgListener({ connect: process.env.DATABASE_URL!, channel: dialect.notifyChannel ?? undefined,
 *   onError: (e) => log.warn({ err: e }, 'LISTEN connection lost; polling until it is back') });
 * const stop = wakeups.subscribe(() => relay.poke());
 * // later: await stop();
 */
export function pgListener(options: PgListenerOptions): WakeSource {
  const config = normalizeListenerOptions(options);
  return { subscribe: (wake) => listen(config, wake) };
}

function normalizeListenerOptions(options: PgListenerOptions): NormalizedListenerOptions {
  checkKnownOptions(options, LISTENER_OPTIONS);
  if (options.reconnect !== undefined) checkKnownOptions(options.reconnect, ['initialMs', 'maxMs'], 'reconnect.');
  const { connect } = options;
  let open: () => Promise<PgListenClient>;
  let secrets: string[] = [];
  if (typeof connect === 'function') {
    open = connect;
  } else {
    const url = validatePgUrl(connect, 'connect');
    secrets = secretsOf(url);
    open = async () => {
      // keepAlive lets the OS notice a silently dropped connection on an otherwise idle socket.
      const client = new pg.Client({ connectionString: url, keepAlive: true });
      client.on('error', () => {}); // a failed connect also emits 'error'; the rejection below reports it
      await client.connect();
      return client;
    };
  }
  const channel = options.channel === undefined ? POSTGRES_DEFAULTS.notifyChannel : validateIdentifier(options.channel, 'channel');
  const initialDelayMs = positive(options.reconnect?.initialMs ?? LISTENER_DEFAULTS.initialDelayMs, 'reconnect.initialMs');
  const maxDelayMs = positive(options.reconnect?.maxMs ?? LISTENER_DEFAULTS.maxDelayMs, 'reconnect.maxMs');
  if (maxDelayMs < initialDelayMs) throw new OutboxConfigError('reconnect.maxMs', `must be >= reconnect.initialMs (${initialDelayMs}), got ${maxDelayMs}`);
  for (const name of ['onError', 'onStateChange'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') throw new OutboxConfigError(name, 'must be a function');
  }
  return Object.freeze({
    connect: open,
    secrets,
    channel,
    onError: options.onError ?? (() => {}),
    onStateChange: options.onStateChange ?? (() => {}),
    initialDelayMs,
    maxDelayMs,
  });
}

function positive(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new OutboxConfigError(option, `must be a positive number of milliseconds, got ${String(value)}`);
  }
  return value;
}

function listen(config: NormalizedListenerOptions, wake: (where?: string) => void): () => Promise<void> {
  let closed = false;
  let current: PgListenClient | null = null;
  let retryTimer: NodeJS.Timeout | null = null;
  let failures = 0;
  let attempt: Promise<void> = Promise.resolve();

  // Callbacks belong to the caller; one that throws must not stop the reconnect loop.
  const setState = (state: PgListenerState): void => guard(() => config.onStateChange(state));
  const report = (error: unknown): void => guard(() => config.onError(scrubbedError(error, config.secrets)));

  async function connectOnce(): Promise<void> {
    let client: PgListenClient | null = null;
    let failed = false;
    // Called by the 'error'/'end' events and by a rejected connect/LISTEN: whichever comes first wins.
    const fail = (error: unknown): void => {
      if (failed) return;
      failed = true;
      if (current === client) current = null;
      if (client) endQuietly(client);
      if (closed) return;
      report(error);
      scheduleReconnect();
    };
    try {
      client = await config.connect();
      if (closed) return endQuietly(client);
      client.on('error', fail);
      client.on('end', () => fail(new Error('the LISTEN connection to PostgreSQL ended')));
      client.on('notification', (message) => {
        // The payload is the writer's schema ('' for the connection's own): a hint for a process serving many schemas.
        if (message.channel === config.channel && !closed) wake(message.payload || undefined);
      });
      await client.query(`LISTEN ${quoteIdentifier(config.channel)}`);
      if (failed) return;
      current = client;
      failures = 0;
      setState('listening');
      wake();
    } catch (error) {
      fail(error);
    }
  }

  function scheduleReconnect(): void {
    failures += 1;
    const ceiling = Math.min(config.maxDelayMs, config.initialDelayMs * 2 ** Math.min(failures - 1, 30));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2); // jitter: relays do not reconnect in lockstep
    setState('reconnecting');
    retryTimer = setTimeout(() => {
      retryTimer = null;
      attempt = connectOnce();
    }, delay);
    // The listener alone should not keep a process alive that has nothing else to do.
    retryTimer.unref();
  }

  attempt = connectOnce();

  return async () => {
    if (closed) return;
    closed = true;
    if (retryTimer) clearTimeout(retryTimer);
    await attempt; // an attempt in flight sees `closed` and ends its client
    const client = current;
    current = null;
    if (client) await client.end().catch(() => {});
    setState('closed');
  };
}

function endQuietly(client: PgListenClient): void {
  client.end().catch(() => {});
}

function guard(fn: () => void): void {
  try {
    fn();
  } catch {
    // deliberately ignored: see the comment at the call sites
  }
}
