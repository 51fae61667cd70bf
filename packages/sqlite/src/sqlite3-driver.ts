import { OutboxError, type QueryResult, type SqlExecutor } from '@outboxkit/core';

/**
 * The part of a node-sqlite3 `Database` (the `sqlite3` package, which Sequelize uses for SQLite)
 * that {@link sqlite3Executor} calls. Structural, so this package never imports `sqlite3`.
 */
export interface Sqlite3Database {
  all(sql: string, params: unknown[], callback: (error: Error | null, rows: unknown[]) => void): unknown;
  /** node-sqlite3 calls back with `this` set to `{ lastID, changes }`. */
  run(sql: string, params: unknown[], callback: (this: { changes: number }, error: Error | null) => void): unknown;
}

/** Statements that only read: their rows are the whole answer. */
const READ_ONLY = /^\s*(?:SELECT|VALUES|PRAGMA|EXPLAIN)\b/i;
const RETURNING = /\bRETURNING\b/i;
/** A CTE can front a read (`WITH ... SELECT`) or a write (`WITH ... INSERT`); only SQLite knows which. */
const COMMON_TABLE_EXPRESSION = /^\s*WITH\b/i;

/**
 * Adapts a node-sqlite3 `Database` to core's `SqlExecutor`, so the SQLite dialect's statements
 * run on it exactly as they run on better-sqlite3 (same SQL, same value conversions).
 *
 * It has no `inTransaction`: node-sqlite3 does not expose SQLite's autocommit state, so a raw
 * `enqueue` over it refuses to write. It is meant for callers that hold the transaction
 * themselves (ORM plugins calling `writeEvents(..., { transactionChecked: true })`).
 *
 * Waiting for another connection's write lock happens inside node-sqlite3 (its busy timeout,
 * 1000 ms by default, runs on its worker thread), so the Node thread is never blocked.
 *
 * @example
 * // `db` is the connection a Sequelize transaction holds: `transaction.connection`
 * await writeEvents(createSqliteDialect(), sqlite3Executor(db), event, { transactionChecked: true });
 */
export function sqlite3Executor(db: Sqlite3Database): SqlExecutor {
  return {
    async query<Row>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<Row>> {
      const values = params.map(toSqlite3Value);
      if (READ_ONLY.test(sql) || RETURNING.test(sql)) {
        const rows = await all<Row>(db, sql, values);
        return { rows, rowCount: rows.length };
      }
      if (COMMON_TABLE_EXPRESSION.test(sql)) return queryWithCte<Row>(db, sql, values);
      return { rows: [], rowCount: await run(db, sql, values) };
    },
  };
}

/**
 * `all` returns the rows of a `WITH ... SELECT`; for a `WITH ... INSERT/UPDATE/DELETE` the change
 * count comes from the connection's `total_changes()` before and after (node-sqlite3 reports
 * `changes` only from `run`, which would drop the rows of a read).
 */
async function queryWithCte<Row>(db: Sqlite3Database, sql: string, values: unknown[]): Promise<QueryResult<Row>> {
  const before = await totalChanges(db);
  const rows = await all<Row>(db, sql, values);
  if (rows.length > 0) return { rows, rowCount: rows.length };
  return { rows, rowCount: (await totalChanges(db)) - before };
}

async function totalChanges(db: Sqlite3Database): Promise<number> {
  const [row] = await all<{ n: number }>(db, 'SELECT total_changes() AS n', []);
  return row?.n ?? 0;
}

function all<Row>(db: Sqlite3Database, sql: string, values: unknown[]): Promise<Row[]> {
  return new Promise((resolve, reject) => {
    db.all(sql, values, (error, rows) => (error ? reject(error) : resolve(rows as Row[])));
  });
}

function run(db: Sqlite3Database, sql: string, values: unknown[]): Promise<number> {
  return new Promise((resolve, reject) => {
    db.run(sql, values, function (this: { changes: number }, error) {
      if (error) reject(error);
      else resolve(this.changes);
    });
  });
}

/**
 * The same conversions as the better-sqlite3 executor, so a value is stored identically through
 * either driver. node-sqlite3 would bind a bigint as NULL without a word: refuse unsafe ones.
 */
function toSqlite3Value(value: unknown): unknown {
  if (value === undefined) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'bigint') {
    if (value > BigInt(Number.MAX_SAFE_INTEGER) || value < BigInt(Number.MIN_SAFE_INTEGER)) {
      throw new OutboxError('OUTBOX_SQLITE_VALUE', `the bigint ${value} does not fit a JavaScript number, which node-sqlite3 needs to bind it`);
    }
    return Number(value);
  }
  return value;
}
