import { checkDialectOptions, OutboxConfigError, resolveTables, type ResolvedTables, type TableOptions } from '@outboxkit/core';

/** Options of {@link createSqliteDialect}. */
export interface SqliteDialectOptions {
  /**
   * Table names. `schema` is refused: SQLite's equivalent is an ATTACHed database file, and in
   * WAL mode a transaction spanning two files is atomic per file only, so an outbox row could
   * commit without its business change. Use `prefix` or `names` instead.
   * @example { prefix: 'shop_outbox_' }
   */
  tables?: TableOptions;
}

/** The options after validation: frozen, identifiers checked. */
export interface NormalizedSqliteOptions {
  readonly tables: ResolvedTables;
}

const KNOWN_OPTIONS = ['tables'];

/** Validates every option once; throws `OutboxConfigError` naming the option. */
export function normalizeSqliteOptions(options: SqliteDialectOptions = {}): NormalizedSqliteOptions {
  checkDialectOptions(options, KNOWN_OPTIONS);
  if (options.tables?.schema !== undefined) {
    throw new OutboxConfigError(
      'tables.schema',
      'SQLite has no schemas, and tables in an ATTACHed file would not commit atomically with your business tables in WAL mode; ' +
        'remove tables.schema and use tables.prefix or tables.names to separate outbox tables',
    );
  }
  return Object.freeze({ tables: resolveTables(options.tables) });
}
