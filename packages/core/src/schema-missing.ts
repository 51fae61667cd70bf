import { OutboxError } from './errors.js';
import type { ResolvedTables } from './tables.js';

/**
 * How a dialect package recognises its database's "table does not exist" error (PostgreSQL
 * SQLSTATE 42P01, MySQL errno 1146, SQLite "no such table"), also when an ORM wrapped the
 * driver's error as `cause`. Each dialect package knows its own code; the message is core's.
 */
export type MissingTableTest = (error: unknown) => boolean;

/**
 * An outbox statement found its table missing: the migrations were never applied to this
 * database (or to this schema / table prefix). The driver's error is the `cause`.
 */
export class OutboxSchemaMissingError extends OutboxError {
  constructor(tables: ResolvedTables, cause: unknown) {
    const detail = cause instanceof Error ? cause.message.slice(0, 200) : String(cause).slice(0, 200);
    const events = tables.schema === null ? tables.names.events : `${tables.schema}.${tables.names.events}`;
    super(
      'OUTBOX_SCHEMA_MISSING',
      `the outbox tables do not exist (${detail}): run \`outbox-relay migrate\` (or \`outbox-relay run --migrate\`) ` +
        `against this database with the same --schema / --table-prefix (this process looks for ${events} and the other outbox tables)`,
      { cause },
    );
  }
}

/** Whether `test` matches `error` or one of its causes (ORMs wrap the driver's error). */
export function someCause(error: unknown, test: (candidate: object) => boolean): boolean {
  let current = error;
  for (let depth = 0; current !== null && typeof current === 'object' && depth < 5; depth++) {
    if (test(current)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/** `error` as an {@link OutboxSchemaMissingError} when it is the database's missing-table error, else unchanged. */
export function withMigrateHint(error: unknown, tables: ResolvedTables, isMissingTable: MissingTableTest): unknown {
  return error instanceof OutboxSchemaMissingError || !isMissingTable(error) ? error : new OutboxSchemaMissingError(tables, error);
}

// The schema role creates the tables, so its "missing table" errors are part of its own work.
const CREATES_TABLES = new Set(['migrate', 'migrations']);

/**
 * The dialect with every statement-running method mapped through {@link withMigrateHint}, so
 * writers (`writeEvents`, the ORM plugins), the relay, every CLI command and the inbox all say
 * "run `outbox-relay migrate`" instead of the driver's raw "relation ... does not exist". Each
 * dialect factory applies it once to what it returns.
 *
 * @example
 * return guardMissingTables(dialect, (error) => someCause(error, (e) => (e as { code?: unknown }).code === '42P01'));
 */
export function guardMissingTables<D extends { readonly tables: ResolvedTables }>(dialect: D, isMissingTable: MissingTableTest): D {
  const guarded: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(dialect)) {
    guarded[key] = typeof value === 'function' && !CREATES_TABLES.has(key) ? guard(value as (...args: unknown[]) => unknown, dialect, isMissingTable) : value;
  }
  return Object.freeze(guarded) as D;
}

function guard(method: (...args: unknown[]) => unknown, dialect: { readonly tables: ResolvedTables }, isMissingTable: MissingTableTest) {
  const map = (error: unknown): never => {
    throw withMigrateHint(error, dialect.tables, isMissingTable);
  };
  return (...args: unknown[]): unknown => {
    let result: unknown;
    try {
      result = method.apply(dialect, args);
    } catch (error) {
      return map(error);
    }
    return result instanceof Promise ? result.catch(map) : result;
  };
}
