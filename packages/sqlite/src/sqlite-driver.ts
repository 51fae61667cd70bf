import { AsyncLocalStorage } from 'node:async_hooks';
import BetterSqlite3 from 'better-sqlite3';
import {
  checkKnownOptions,
  OutboxConfigError,
  OutboxError,
  OutboxTransactionRequiredError,
  type QueryResult,
  type SqlDatabase,
  type SqlExecutor,
} from '@outboxkit/core';
import { AsyncMutex } from './async-mutex.js';
import { DATABASE_BUSY_CODE, DEFAULT_MAX_BUSY_WAIT_MS, isBusyError, retryWhileBusy } from './busy-retry.js';
import { sqlitePathFromUrl } from './sqlite-url.js';

/** The part of a better-sqlite3 statement outboxkit uses (structural, so no driver types leak). */
export interface SqliteStatement {
  /** True when the statement returns rows (SELECT, or a write with RETURNING). */
  readonly reader: boolean;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): { changes: number };
}

/** The part of a better-sqlite3 `Database` outboxkit uses. Any `new Database(file)` fits. */
export interface SqliteConnection {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  readonly inTransaction: boolean;
}

export interface SqliteDatabaseOptions {
  /**
   * How long a statement or a transaction's `BEGIN IMMEDIATE` keeps retrying while another
   * connection holds the write lock, waiting asynchronously. Past it, an `OutboxError` with code
   * `OUTBOX_DATABASE_BUSY` is thrown.
   * @default 10000
   * @example { maxBusyWaitMs: 30_000 }
   */
  maxBusyWaitMs?: number;
}

/** The relay's {@link SqlDatabase} on one SQLite file. */
export interface SqliteDatabase extends SqlDatabase {
  /** The file opened, after URL parsing. */
  readonly path: string;
}

/** Statements are prepared once per connection; the cap only bounds arbitrary callers' SQL. */
const MAX_CACHED_STATEMENTS = 256;
const statementCaches = new WeakMap<SqliteConnection, Map<string, SqliteStatement>>();

function prepareCached(connection: SqliteConnection, sql: string): SqliteStatement {
  let cache = statementCaches.get(connection);
  if (cache === undefined) {
    cache = new Map();
    statementCaches.set(connection, cache);
  }
  let statement = cache.get(sql);
  if (statement === undefined) {
    statement = connection.prepare(sql);
    if (cache.size >= MAX_CACHED_STATEMENTS) cache.delete(cache.keys().next().value as string);
    cache.set(sql, statement);
  }
  return statement;
}

/** better-sqlite3 binds numbers, strings, bigints, buffers and null only. */
function toSqliteValue(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  return value;
}

/** Runs one statement synchronously with bound `params`. Shared by the async executor and `enqueueSync`. */
export function runStatement<Row>(connection: SqliteConnection, sql: string, params: readonly unknown[] = []): QueryResult<Row> {
  const statement = prepareCached(connection, sql);
  const values = params.map(toSqliteValue);
  if (statement.reader) {
    const rows = statement.all(...values) as Row[];
    return { rows, rowCount: rows.length };
  }
  return { rows: [], rowCount: statement.run(...values).changes };
}

/**
 * A {@link SqlExecutor} over one better-sqlite3 connection. The dialect recognises instances of
 * this class and asks the connection itself whether a transaction is open (`db.inTransaction`),
 * so `enqueue` can refuse to write outside one without sending any SQL.
 */
export class SqliteExecutor implements SqlExecutor {
  readonly connection: SqliteConnection;
  readonly #maxBusyWaitMs: number;

  constructor(connection: SqliteConnection, maxBusyWaitMs = DEFAULT_MAX_BUSY_WAIT_MS) {
    this.connection = connection;
    this.#maxBusyWaitMs = maxBusyWaitMs;
  }

  /** Whether the connection has an open transaction (better-sqlite3's `db.inTransaction`). */
  get inTransaction(): boolean {
    return this.connection.inTransaction;
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    // Inside a transaction SQLITE_BUSY means the transaction's snapshot is stale or another
    // connection holds the write lock; retrying one statement cannot fix that, the caller must
    // roll back. Outside, a busy statement changed nothing, so it is retried.
    if (this.connection.inTransaction) return runStatement<Row>(this.connection, sql, params);
    return retryWhileBusy(() => runStatement<Row>(this.connection, sql, params), this.#maxBusyWaitMs, 'SQLite statement');
  }
}

/**
 * Wraps a better-sqlite3 `Database` as a {@link SqlExecutor}, e.g. to pass a connection on which
 * you ran `BEGIN` to core APIs. Statements outside a transaction retry SQLITE_BUSY asynchronously.
 *
 * @example
 * const exec = sqliteExecutor(db);
 * db.exec('BEGIN IMMEDIATE');
 * await writeEvents(createSqliteDialect(), exec, event);
 * db.exec('COMMIT');
 */
export function sqliteExecutor(db: SqliteConnection, options: SqliteDatabaseOptions = {}): SqliteExecutor {
  return new SqliteExecutor(db, normalizeSqliteDatabaseOptions(options).maxBusyWaitMs);
}

/** The executor handed to a transaction callback: refuses statements once the transaction ended. */
class SqliteTransactionExecutor extends SqliteExecutor {
  #finished = false;

  finish(): void {
    this.#finished = true;
  }

  override get inTransaction(): boolean {
    return !this.#finished && this.connection.inTransaction;
  }

  override async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    if (this.#finished) {
      throw new OutboxTransactionRequiredError(
        'this transaction has already committed or rolled back: run its statements inside the transaction callback (and await them)',
      );
    }
    return super.query<Row>(sql, params);
  }
}

/** Marks async work running inside a transaction callback of one database (see `refuseReentry`). */
interface TransactionScope {
  readonly database: SqliteRelayDatabase;
  active: boolean;
}
const transactionScope = new AsyncLocalStorage<TransactionScope>();
/**
 * Transactions open in this process, of any database. The scope is disabled whenever none is:
 * on Node 20 an enabled AsyncLocalStorage runs a hook for every promise the process creates,
 * and outside a transaction there is nothing to refuse. The next `run()` enables it again.
 */
let openTransactions = 0;

/**
 * One connection, used by one process's relay. All access is serialised by a mutex, because a
 * SQLite connection has a single transaction state. Transactions begin IMMEDIATE, taking the
 * database write lock up front, so a fenced relay transaction can never be overtaken by a
 * lease takeover between its fence check and its commit.
 */
class SqliteRelayDatabase implements SqliteDatabase {
  readonly path: string;
  readonly #connection: SqliteConnection & { close(): unknown };
  readonly #executor: SqliteExecutor;
  readonly #maxBusyWaitMs: number;
  readonly #mutex = new AsyncMutex();

  constructor(path: string, connection: SqliteConnection & { close(): unknown }, maxBusyWaitMs: number) {
    this.path = path;
    this.#connection = connection;
    this.#maxBusyWaitMs = maxBusyWaitMs;
    this.#executor = new SqliteExecutor(connection, maxBusyWaitMs);
  }

  async query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>> {
    this.#refuseReentry('query()');
    return this.#mutex.run(() => this.#executor.query<Row>(sql, params));
  }

  async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
    this.#refuseReentry('transaction()');
    return this.#mutex.run(async () => {
      await retryWhileBusy(() => this.#connection.exec('BEGIN IMMEDIATE'), this.#maxBusyWaitMs, 'BEGIN IMMEDIATE');
      const tx = new SqliteTransactionExecutor(this.#connection, this.#maxBusyWaitMs);
      const scope: TransactionScope = { database: this, active: true };
      openTransactions++;
      try {
        const result = await transactionScope.run(scope, () => fn(tx));
        this.#connection.exec('COMMIT');
        return result;
      } catch (error) {
        // Some errors (SQLITE_FULL, SQLITE_IOERR...) already rolled the transaction back.
        if (this.#connection.inTransaction) this.#connection.exec('ROLLBACK');
        throw error;
      } finally {
        scope.active = false;
        tx.finish();
        if (--openTransactions === 0) transactionScope.disable();
      }
    });
  }

  async close(): Promise<void> {
    await this.#mutex.run(async () => {
      this.#connection.close();
    });
  }

  /**
   * Calling `db.query()`/`db.transaction()` from inside `db.transaction(fn)` would queue behind
   * the very transaction it runs in and never start. Fail loudly instead of hanging.
   */
  #refuseReentry(method: string): void {
    const scope = transactionScope.getStore();
    if (scope?.active && scope.database === this) {
      throw new OutboxError(
        'OUTBOX_SQLITE_REENTRANT',
        `${method} was called on the SqliteDatabase from inside its own transaction(); it would wait for that transaction ` +
          'to end (a deadlock). Use the `tx` executor passed to the transaction callback instead.',
      );
    }
  }
}

/**
 * Opens the relay's connection to a SQLite file: WAL journal (readers never block the writer),
 * `synchronous = NORMAL` (durable at checkpoints, safe against corruption in WAL), and
 * `busy_timeout = 0`: waiting for another connection's write lock happens asynchronously in
 * this library (see `maxBusyWaitMs`), never by blocking the Node thread.
 *
 * Accepts `./app.db`, `sqlite:app.db`, `sqlite:///abs/app.db`, `file:./app.db`, `file:///abs/app.db`.
 *
 * @example
 * const db = openSqliteDatabase('sqlite:///var/lib/shop/app.db');
 * const dialect = createSqliteDialect();
 * await dialect.migrate(db);
 * await db.transaction(async (tx) => dialect.markPublished(tx, ids, true));
 * await db.close();
 */
export function openSqliteDatabase(fileOrUrl: string, options: SqliteDatabaseOptions = {}): SqliteDatabase {
  const { maxBusyWaitMs } = normalizeSqliteDatabaseOptions(options);
  const path = sqlitePathFromUrl(fileOrUrl);
  const connection = new BetterSqlite3(path, { timeout: 0 });
  try {
    useWriteAheadLog(connection, path);
    connection.pragma('synchronous = NORMAL');
  } catch (error) {
    connection.close();
    throw error;
  }
  return new SqliteRelayDatabase(path, connection, maxBusyWaitMs);
}

function useWriteAheadLog(connection: BetterSqlite3.Database, path: string): void {
  let mode: unknown;
  try {
    mode = connection.pragma('journal_mode = WAL', { simple: true });
  } catch (error) {
    if (!isBusyError(error)) throw error;
    // Only the first switch of a file to WAL needs an exclusive lock.
    throw new OutboxError(
      DATABASE_BUSY_CODE,
      `could not switch ${path} to WAL mode: another connection holds a lock on it. Open the file once while it is idle ` +
        '(for example run migrations first), then it stays in WAL mode.',
      { cause: error },
    );
  }
  // In-memory databases report "memory"; they are private to one connection anyway.
  if (mode !== 'wal' && mode !== 'memory') {
    throw new OutboxError(
      'OUTBOX_SQLITE_NO_WAL',
      `SQLite refused WAL mode for ${path} (journal_mode is "${String(mode)}"); outboxkit needs WAL so relay reads never block ` +
        'writers. Put the file on a local filesystem (WAL does not work on network filesystems).',
    );
  }
}

function normalizeSqliteDatabaseOptions(options: SqliteDatabaseOptions): Required<SqliteDatabaseOptions> {
  checkKnownOptions(options, ['maxBusyWaitMs']);
  const maxBusyWaitMs = options.maxBusyWaitMs ?? DEFAULT_MAX_BUSY_WAIT_MS;
  if (!Number.isInteger(maxBusyWaitMs) || maxBusyWaitMs < 0 || maxBusyWaitMs > 600_000) {
    throw new OutboxConfigError('maxBusyWaitMs', `must be an integer from 0 to 600000 (milliseconds), got ${String(maxBusyWaitMs)}`);
  }
  return { maxBusyWaitMs };
}
