import pg from 'pg';
import type { PoolConfig } from 'pg';
import {
  OutboxConfigError,
  OutboxError,
  redactUrl,
  scrubbedError,
  secretsOf,
  type QueryResult,
  type RelaySessionLimits,
  type SqlDatabase,
  type SqlExecutor,
} from '@outboxkit/core';

/** The subset of a `pg` Client, PoolClient or Pool that outboxkit calls. */
export interface PgQueryable {
  query(text: string, values?: unknown[]): Promise<PgQueryResultLike>;
  /**
   * A `pg` Client's transaction status from the server's last ReadyForQuery: `I` idle, `T` in a
   * transaction, `E` in a failed one (pg 8.x; a Pool has none).
   */
  getTransactionStatus?(): string | null;
}

export interface PgQueryResultLike {
  rows: any[];
  rowCount: number | null;
  /** The command tag; `ROLLBACK` for a COMMIT of a transaction that had already failed. */
  command?: string;
}

/** The subset of a `pg` PoolClient used for transactions. */
export interface PgPoolClientLike extends PgQueryable {
  /** `release(err)` with an error destroys the connection instead of returning it to the pool. */
  release(err?: Error | boolean): void;
  /** pg's EventEmitter methods, used to catch a connection error while the client is checked out (optional for look-alikes). */
  on?(event: 'error', listener: (error: Error) => void): unknown;
  off?(event: 'error', listener: (error: Error) => void): unknown;
}

/** The subset of a `pg` Pool that {@link pgDatabase} needs. */
export interface PgPoolLike extends PgQueryable {
  connect(): Promise<PgPoolClientLike>;
  end(): Promise<void>;
}

/**
 * Adapts a `pg` Client, PoolClient or Pool to core's `SqlExecutor`. On a Pool, every statement
 * may run on a different connection: use a client for anything that needs a transaction.
 *
 * @example
 * const exec = pgExecutor(client);
 * await dialect.claim(exec, [0, 1, 2], 100);
 */
export function pgExecutor(queryable: PgQueryable): SqlExecutor {
  return {
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      const result = await queryable.query(sql, params as unknown[]);
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? result.rows.length };
    },
    // What the server said at its last ReadyForQuery, so the writer's check costs no round
    // trip; unknown (a Pool, a look-alike, before the first statement) leaves it to SQL.
    get inTransaction(): boolean | undefined {
      const status = queryable.getTransactionStatus?.();
      return status === 'T' || status === 'E' ? true : status === 'I' ? false : undefined;
    },
  };
}

/** Options of {@link pgDatabase}. */
export interface PgDatabaseOptions {
  /**
   * Every transaction starts with `SET LOCAL lock_timeout` and `idle_in_transaction_session_timeout`
   * from these (sent with BEGIN, one round trip, and scoped to the transaction, so they also hold
   * behind a transaction-pooling PgBouncer). The relay's connector sets them from its lease TTL.
   */
  readonly sessionLimits?: RelaySessionLimits;
}

/**
 * Adapts a `pg` Pool to core's `SqlDatabase`: statements on the pool, transactions on one
 * checked-out client (BEGIN / COMMIT / ROLLBACK). `close()` ends the pool.
 *
 * @example
 * const db = pgDatabase(new pg.Pool({ connectionString: process.env.DATABASE_URL }));
 * await createPostgresDialect().migrate(db);
 */
export function pgDatabase(pool: PgPoolLike, options: PgDatabaseOptions = {}): SqlDatabase {
  const executor = pgExecutor(pool);
  const begin = beginStatement(options.sessionLimits);
  return {
    query: executor.query,
    transaction: (fn) => inTransaction(pool, begin, fn),
    close: () => pool.end(),
  };
}

/**
 * BEGIN, and the limits as `SET LOCAL` in the same simple-protocol query. The values are
 * integers this function formats itself, never caller text.
 */
export function beginStatement(limits: RelaySessionLimits | undefined): string {
  if (!limits) return 'BEGIN';
  const ms = (value: number): string => `'${Math.max(1, Math.floor(value))}ms'`;
  return `BEGIN; SET LOCAL lock_timeout = ${ms(limits.lockWaitMs)}; SET LOCAL idle_in_transaction_session_timeout = ${ms(limits.idleInTransactionMs)}`;
}

async function inTransaction<T>(pool: PgPoolLike, begin: string, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  // pg-pool listens for a client's 'error' only while it is idle: a server crash or network loss
  // between two statements of this transaction would otherwise be an unhandled 'error' event,
  // an uncaught exception that kills the process. The failure still surfaces: the running or next
  // statement rejects, and the broken connection is destroyed on release.
  const onError = (): void => undefined;
  client.on?.('error', onError);
  try {
    return await runTransaction(client, begin, fn);
  } finally {
    client.off?.('error', onError);
  }
}

async function runTransaction<T>(client: PgPoolClientLike, begin: string, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  let result: T;
  try {
    await client.query(begin);
    result = await fn(pgExecutor(client));
    const commit = await client.query('COMMIT');
    // PostgreSQL answers COMMIT of a failed transaction with a ROLLBACK, not an error. A caller
    // that swallowed a statement error would otherwise believe its writes were committed.
    if (commit.command === 'ROLLBACK') {
      throw new OutboxError(
        'OUTBOX_TRANSACTION_ABORTED',
        'the transaction was rolled back at COMMIT because a statement inside it failed; nothing was written. ' +
          'Let statement errors propagate out of the transaction callback, or retry the whole transaction',
      );
    }
  } catch (error) {
    await rollbackAndRelease(client);
    throw error;
  }
  client.release();
  return result;
}

async function rollbackAndRelease(client: PgPoolClientLike): Promise<void> {
  try {
    await client.query('ROLLBACK');
    client.release();
  } catch (rollbackError) {
    // A connection that cannot roll back is in an unknown state: destroy it rather than let
    // the pool hand an open transaction to the next caller.
    client.release(rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError)));
  }
}

/** Options of {@link createPgPool}: any `pg.PoolConfig` except the connection fields, plus `onError`. */
export interface PgPoolOptions extends Omit<PoolConfig, 'connectionString' | 'password' | 'user' | 'host' | 'port' | 'database'> {
  /**
   * Called when an idle pooled connection fails (server restart, network loss). The pool drops
   * that connection and opens a new one on next use; without a handler such an error would
   * crash the process. The error message never contains the password.
   * @default ignore
   */
  onError?: (error: Error) => void;
}

/**
 * Builds a `pg.Pool` from a `postgres://` URL. Errors about the URL, and errors the pool reports
 * through `onError`, never contain the password (driver errors can echo their input).
 *
 * @example
 * const pool = createPgPool(process.env.DATABASE_URL!, { max: 5, onError: (e) => log.warn(e.message) });
 * const db = pgDatabase(pool);
 */
export function createPgPool(url: string, options: PgPoolOptions = {}): pg.Pool {
  validatePgUrl(url, 'url');
  const { onError, ...config } = options;
  const secrets = secretsOf(url);
  const pool = new pg.Pool({ ...config, connectionString: url });
  pool.on('error', (error) => onError?.(scrubbedError(error, secrets)));
  return pool;
}

/**
 * Throws an `OutboxConfigError` (showing the URL with its password redacted) unless `url` is a
 * `postgres://` or `postgresql://` URL. The cause is not attached: Node's URL errors carry the
 * full input, password included.
 */
export function validatePgUrl(url: unknown, option: string): string {
  if (typeof url !== 'string' || url === '') {
    throw new OutboxConfigError(option, `expected a postgres:// connection URL, got ${typeof url === 'string' ? 'an empty string' : typeof url}`);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OutboxConfigError(option, `${redactUrl(url)} is not a valid URL; expected postgres://user:password@host:5432/database`);
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    // Only the scheme is shown: a non-URL secret like "user:password" parses as scheme + path,
    // which redactUrl would return unchanged.
    throw new OutboxConfigError(option, `a ${parsed.protocol} URL is not a PostgreSQL URL; it must start with postgres:// or postgresql://`);
  }
  return url;
}
