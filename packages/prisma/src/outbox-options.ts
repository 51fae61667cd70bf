import { OutboxConfigError, requireWriterDialect, type WriterDialect } from '@outboxkit/core';

/** Options of {@link outbox}. */
export interface OutboxExtensionOptions {
  /**
   * The dialect of the database the Prisma client talks to; it writes every outbox statement.
   * It must match the client's provider (`postgresql`, `mysql` or `sqlite`).
   * @example createPostgresDialect({ tables: { schema: 'app' } })
   */
  dialect: WriterDialect;
}

/** The options after validation, frozen. */
export interface ResolvedOutboxExtensionOptions {
  readonly dialect: WriterDialect;
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
  return Object.freeze({ dialect: requireWriterDialect(options.dialect) });
}
