import {
  checkDialectOptions,
  describeKind,
  OutboxConfigError,
  resolveTables,
  validateIdentifier,
  type ResolvedTables,
  type TableOptions,
} from '@outboxkit/core';

/** Options of {@link createPostgresDialect}. */
export interface PostgresDialectOptions {
  /**
   * Where the outbox tables live and what they are called.
   * @example { schema: 'app', prefix: 'outbox_' }
   */
  tables?: TableOptions;
  /**
   * Send `pg_notify` in every writing transaction, so relays listening on the channel wake at
   * commit instead of at their next poll. `false` turns it off; an object picks the channel.
   * @default true (channel 'outbox_events')
   * @example { channel: 'orders_outbox' }
   */
  notify?: boolean | { channel?: string };
}

/** Options after validation and defaults; frozen. */
export interface NormalizedPostgresOptions {
  readonly tables: ResolvedTables;
  /** The NOTIFY channel, or null when notify is off. */
  readonly notifyChannel: string | null;
}

/** Defaults of every Postgres dialect option, in one place. */
export const POSTGRES_DEFAULTS = Object.freeze({
  notifyChannel: 'outbox_events',
});

const KNOWN_OPTIONS = ['tables', 'notify'];

/**
 * Validates {@link PostgresDialectOptions} and applies the defaults. Every problem is an
 * `OutboxConfigError` naming the option, thrown before any SQL could be built from it.
 */
export function normalizePostgresOptions(options: PostgresDialectOptions = {}): NormalizedPostgresOptions {
  checkDialectOptions(options, KNOWN_OPTIONS);
  return Object.freeze({ tables: resolveTables(options.tables), notifyChannel: normalizeNotify(options.notify) });
}

function normalizeNotify(notify: PostgresDialectOptions['notify']): string | null {
  if (notify === undefined || notify === true) return POSTGRES_DEFAULTS.notifyChannel;
  if (notify === false) return null;
  if (notify === null || typeof notify !== 'object' || Array.isArray(notify)) {
    throw new OutboxConfigError('notify', `expected true, false or { channel }, got ${describeKind(notify)}`);
  }
  if (notify.channel === undefined) return POSTGRES_DEFAULTS.notifyChannel;
  // LISTEN takes the channel as an identifier, so it is held to the same rule as table names.
  return validateIdentifier(notify.channel, 'notify.channel');
}
