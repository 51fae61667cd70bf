import { createPool, type Pool, type PoolOptions } from 'mysql2/promise';
import { OutboxConfigError, redactUrl, type QueryResult, type RelaySessionLimits, type SqlDatabase, type SqlExecutor } from '@outboxkit/core';

/**
 * The subset of a mysql2 promise connection or pool outboxkit uses. Structural, so a connection
 * from `mysql2/promise`, a pool, or anything shaped like them fits without importing mysql2 types.
 */
export interface MysqlQueryable {
  query(sql: string, values?: unknown): Promise<[unknown, unknown]>;
}

/** A connection checked out of a pool: queried, then given back. */
export interface MysqlPoolConnection extends MysqlQueryable {
  release(): void;
  /** Drops a connection whose state is unknown (a failed ROLLBACK) instead of returning it to the pool. */
  destroy?(): void;
}

/** The subset of a mysql2 promise pool outboxkit uses. */
export interface MysqlPool extends MysqlQueryable {
  getConnection(): Promise<MysqlPoolConnection>;
  end(): Promise<void>;
}

/**
 * A query result that also carries the OK packet's insert id, when there is one: MySQL's own
 * extension of core's `QueryResult`. The dialect reads it to save a round trip on executors that
 * set it ({@link mysqlExecutor}, or an ORM plugin's executor over mysql2) and asks
 * `SELECT LAST_INSERT_ID()` on executors that do not.
 */
export interface MysqlQueryResult<Row> extends QueryResult<Row> {
  insertId?: number;
}

/** mysql2's answer to INSERT/UPDATE/DELETE (`ResultSetHeader`), the fields we read. */
interface ResultHeader {
  affectedRows: number;
  insertId: number | string;
}

/**
 * Adapts a mysql2 promise connection (or pool) to core's `SqlExecutor`. Use the connection on
 * which you began a transaction when writing events.
 *
 * @example
 * const conn = await pool.getConnection();
 * const rows = await mysqlExecutor(conn).query('SELECT 1 AS one');
 */
export function mysqlExecutor(connection: MysqlQueryable): SqlExecutor {
  return {
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<MysqlQueryResult<Row>> {
      const [result] = await connection.query(sql, params);
      if (Array.isArray(result)) return { rows: result as Row[], rowCount: result.length };
      const header = result as ResultHeader;
      return { rows: [], rowCount: header.affectedRows, insertId: Number(header.insertId) };
    },
  };
}

/**
 * Wraps a mysql2 promise pool as the `SqlDatabase` the relay and `migrate` use. Each transaction
 * runs on one pooled connection between `START TRANSACTION` and `COMMIT`/`ROLLBACK`.
 *
 * Pools from {@link createMysqlPool} run their sessions at READ COMMITTED, which keeps the relay's
 * locks to the rows it touches (no gap locks that could hold up writers). With a pool of your
 * own, set that on its connections too; correctness does not depend on it, lock waits do.
 *
 * @example
 * const db = mysqlDatabase(createMysqlPool(process.env.DATABASE_URL!));
 * await createMysqlDialect().migrate(db);
 */
export function mysqlDatabase(pool: MysqlPool): SqlDatabase {
  const poolExecutor = mysqlExecutor(pool);
  return {
    query: poolExecutor.query.bind(poolExecutor),
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
      const connection = await pool.getConnection();
      let reusable = true;
      try {
        await connection.query('START TRANSACTION');
        const result = await fn(mysqlExecutor(connection));
        await connection.query('COMMIT');
        return result;
      } catch (error) {
        try {
          await connection.query('ROLLBACK');
        } catch {
          // The connection is broken or in an unknown state: never hand it to the next caller.
          reusable = false;
        }
        throw error;
      } finally {
        if (reusable || !connection.destroy) connection.release();
        else connection.destroy();
      }
    },
    close: () => pool.end(),
  };
}

/**
 * Runs `fn` in a transaction of its own when given a pool (`SqlDatabase`), so lock-then-update
 * statements hold their locks together until one commit; an executor that is already a
 * transaction (or a single connection the caller manages) is used as it is.
 */
export function inOneTransaction<T>(exec: SqlExecutor, fn: (tx: SqlExecutor) => Promise<T>): Promise<T> {
  return isDatabase(exec) ? exec.transaction(fn) : fn(exec);
}

function isDatabase(exec: SqlExecutor): exec is SqlDatabase {
  return typeof (exec as Partial<SqlDatabase>).transaction === 'function';
}

/** mysql2 pool options outboxkit leaves to you; the connection target comes from the URL. */
export type MysqlPoolOptions = Omit<
  PoolOptions,
  | 'uri'
  | 'host'
  | 'port'
  | 'user'
  | 'password'
  | 'database'
  | 'socketPath'
  | 'timezone'
  | 'supportBigNumbers'
  | 'bigNumberStrings'
  | 'dateStrings'
  | 'multipleStatements'
>;

const URL_SCHEMES = new Set(['mysql:', 'mariadb:']);

/**
 * Creates a mysql2 promise pool from a `mysql://` or `mariadb://` URL, with the settings the
 * dialect relies on: UTC dates, big numbers as numbers/strings (never rounded), real Date objects,
 * no multiple statements per query, and READ COMMITTED sessions.
 *
 * @example
 * const pool = createMysqlPool('mysql://app:secret@db.internal:3306/shop', { connectionLimit: 5 });
 */
export function createMysqlPool(url: string, options: MysqlPoolOptions & { sessionLimits?: RelaySessionLimits } = {}): Pool {
  const target = parseMysqlUrl(url);
  const { sessionLimits, ...poolOptions } = options;
  const setup = ['SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', ...(sessionLimits ? [sessionLimitsStatement(sessionLimits)] : [])];
  const pool = createPool({
    ...poolOptions,
    ...target,
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: false,
    dateStrings: false,
    multipleStatements: false,
  });
  // The core pool's 'connection' fires once per new physical connection, before it is handed
  // out; the driver runs commands in order, so this precedes the first statement of any caller.
  pool.pool.on('connection', (connection) => {
    for (const statement of setup) {
      connection.query(statement, (error) => {
        // A session we could not configure is not handed out twice.
        if (error) connection.destroy();
      });
    }
  });
  return pool;
}

/**
 * The session's lock wait (`innodb_lock_wait_timeout`, whole seconds, at least 1) and, on
 * MariaDB only (the `/*M!` comment is executed by MariaDB and ignored by MySQL, which has no
 * such setting), `idle_transaction_timeout`: the server ends a session left idle inside a
 * transaction, releasing its locks. Integers formatted here, never caller text.
 */
export function sessionLimitsStatement(limits: RelaySessionLimits): string {
  const seconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));
  return `SET SESSION innodb_lock_wait_timeout = ${seconds(limits.lockWaitMs)} /*M!100300 , idle_transaction_timeout = ${seconds(limits.idleInTransactionMs)} */`;
}

/** Splits a URL into mysql2 options; errors show the URL without its password. */
export function parseMysqlUrl(url: string): Pick<PoolOptions, 'host' | 'port' | 'user' | 'password' | 'database'> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OutboxConfigError('url', `${redactUrl(String(url))} is not a valid URL; expected mysql://user:password@host:3306/database`);
  }
  if (!URL_SCHEMES.has(parsed.protocol)) {
    throw new OutboxConfigError('url', `${redactUrl(url)} has scheme "${parsed.protocol}"; use mysql:// or mariadb://`);
  }
  if (parsed.search !== '') {
    throw new OutboxConfigError(
      'url',
      `${redactUrl(url)} has query parameters, which are not read; pass driver options as the second argument of createMysqlPool`,
    );
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  return {
    host: decodeURIComponent(parsed.hostname.replace(/^\[|\]$/g, '')) || 'localhost',
    port: parsed.port === '' ? 3306 : Number(parsed.port),
    user: decodeURIComponent(parsed.username) || undefined,
    password: decodeURIComponent(parsed.password) || undefined,
    database: database === '' ? undefined : database,
  };
}
