import { checkDialectOptions, resolveTables, type ResolvedTables, type TableOptions } from '@outboxkit/core';

/** Options of {@link createMysqlDialect}. */
export interface MysqlDialectOptions {
  /**
   * Where the tables live and what they are called. `schema` is the MySQL database.
   * @example { schema: 'app', prefix: 'outbox_' }
   */
  tables?: TableOptions;
}

/** The options after validation: frozen, identifiers checked. */
export interface NormalizedMysqlOptions {
  readonly tables: ResolvedTables;
}

const KNOWN_OPTIONS = ['tables'];

/** Validates every option once; throws `OutboxConfigError` naming the option. */
export function normalizeMysqlOptions(options: MysqlDialectOptions = {}): NormalizedMysqlOptions {
  checkDialectOptions(options, KNOWN_OPTIONS);
  return Object.freeze({ tables: resolveTables(options.tables) });
}
