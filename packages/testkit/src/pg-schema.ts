import { redactUrl, validateIdentifier } from '@outboxkit/core';
import { serviceUrl, uniqueName } from './services.js';

/** A schema of its own for one test file, on the shared PostgreSQL. */
export interface PostgresTestSchema {
  /** The schema's name, e.g. `okt_lq3x9c_1a2b3c4d`. */
  readonly schema: string;
  /**
   * The server's URL with `options=-c search_path=<schema>`, so any client built from it (pg,
   * psql, the relay) creates and finds unqualified tables in this schema.
   */
  readonly url: string;
  /** Drops the schema and everything in it. Safe to call twice. Close your pools first: open transactions in the schema block the drop. */
  drop(): Promise<void>;
}

export interface PostgresSchemaOptions {
  /** Prefix of the generated name (letters, digits, underscores). Default `okt`. */
  prefix?: string;
  /** Server to create it on. Default `serviceUrl('postgres')`. */
  url?: string;
}

/**
 * Creates a uniquely named schema, so test files running in parallel against one PostgreSQL
 * never see each other's tables (the way pg-boss isolates its tests).
 *
 * @example
 * let db: PostgresTestSchema;
 * beforeAll(async () => { db = await withPostgresSchema({ prefix: 'relay' }); });
 * afterAll(async () => { await pool.end(); await db.drop(); });
 * // new pg.Pool({ connectionString: db.url }) now works inside db.schema
 */
export async function withPostgresSchema(options: PostgresSchemaOptions = {}): Promise<PostgresTestSchema> {
  const serverUrl = options.url ?? (await serviceUrl('postgres'));
  const schema = validateIdentifier(uniqueName(options.prefix), 'withPostgresSchema.prefix').toLowerCase();
  // The name is validated above and only [a-z0-9_], so quoting cannot be escaped.
  await runStatement(serverUrl, `CREATE SCHEMA "${schema}"`);
  return Object.freeze({
    schema,
    url: withSearchPath(serverUrl, schema),
    drop: () => runStatement(serverUrl, `DROP SCHEMA IF EXISTS "${schema}" CASCADE`),
  });
}

/** Adds `-c search_path=...` to the URL's libpq `options`, keeping options already there. */
function withSearchPath(url: string, schema: string): string {
  const parsed = new URL(url);
  const existing = parsed.searchParams.get('options');
  parsed.searchParams.set('options', [existing, `-c search_path=${schema}`].filter(Boolean).join(' '));
  return parsed.toString();
}

async function runStatement(url: string, statement: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: url });
  try {
    await client.connect();
    await client.query(statement);
  } catch (error) {
    throw new Error(`${statement} failed on ${redactUrl(url)}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}
