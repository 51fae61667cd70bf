/**
 * The structural seam between outboxkit and a database driver or ORM: run one statement with
 * positional parameters. Placeholders are the dialect's own (`$1` on PostgreSQL, `?` elsewhere).
 * A plugin adapts its ORM's transaction handle to this and nothing else.
 */
export interface SqlExecutor {
  query<Row = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<Row>>;
  /**
   * Whether a transaction is open, for executors that know it without asking the database
   * (SQLite has no SQL for it). Dialects use it when present and ask the database otherwise.
   */
  readonly inTransaction?: boolean;
}

export interface QueryResult<Row> {
  rows: Row[];
  /** Rows changed by INSERT/UPDATE/DELETE, or rows returned by SELECT. */
  rowCount: number;
}

/** A pool the relay owns: statements outside a transaction, transactions, and shutdown. */
export interface SqlDatabase extends SqlExecutor {
  /** Runs `fn` in one transaction: commit when it resolves, roll back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * A SQL string literal for printed scripts (`migrate --print`), where no parameters exist;
 * statements that run take parameters instead. Doubling `'` is standard SQL on all three
 * databases; a backslash (an escape character in MySQL's default mode) or NUL is refused
 * rather than quoted two ways.
 */
export function sqlStringLiteral(value: string): string {
  if (/[\\\0]/.test(value)) throw new TypeError(`sqlStringLiteral: ${JSON.stringify(value)} contains a backslash or NUL`);
  return `'${value.replaceAll("'", "''")}'`;
}
