import { OutboxConfigError, type Dialect } from '@outboxkit/core';

/** Options of {@link outbox}. */
export interface OutboxExtensionOptions {
  /**
   * The dialect of the database the Prisma client talks to; it writes every outbox statement.
   * It must match the client's provider (`postgresql`, `mysql` or `sqlite`).
   * @example createPostgresDialect({ tables: { schema: 'app' } })
   */
  dialect: Dialect;
}

/** The options after validation, frozen. */
export interface ResolvedOutboxExtensionOptions {
  readonly dialect: Dialect;
}

const KNOWN_OPTIONS: ReadonlySet<string> = new Set(['dialect']);

/** Validates the options once, at `outbox(...)`; throws an {@link OutboxConfigError} naming the option. */
export function normalizeOutboxExtensionOptions(options: OutboxExtensionOptions): ResolvedOutboxExtensionOptions {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new OutboxConfigError('options', 'expected an object like { dialect: createPostgresDialect() }');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new OutboxConfigError(key, `unknown option; known: ${[...KNOWN_OPTIONS].join(', ')}`);
  }
  const { dialect } = options;
  if (dialect === undefined || dialect === null) {
    throw new OutboxConfigError('dialect', 'is required: pass the dialect of your database, e.g. createPostgresDialect(), createMysqlDialect() or createSqliteDialect()');
  }
  if (typeof dialect !== 'object' || typeof dialect.insertEvents !== 'function' || typeof dialect.name !== 'string') {
    throw new OutboxConfigError('dialect', 'is not an outboxkit Dialect; create it with createPostgresDialect(), createMysqlDialect() or createSqliteDialect()');
  }
  return Object.freeze({ dialect });
}
