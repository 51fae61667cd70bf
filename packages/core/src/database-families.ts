import type { WriterDialect } from './dialect.js';
import { OutboxConfigError } from './errors.js';

/**
 * The kinds of database outboxkit has a dialect package for. ORM plugins map their ORM's own
 * names (a Prisma provider, a MikroORM driver, a Sequelize dialect) to one of these and learn
 * everything else here: which dialect writes its SQL and which package provides it.
 */
export type DatabaseFamily = 'postgres' | 'mysql' | 'sqlite';

/** The dialect package of one database family. */
export interface DatabaseFamilyPackage {
  /** `WriterDialect.name` of the family's dialect. */
  readonly dialectName: string;
  /** The npm package with the dialect and the driver executors. */
  readonly packageName: string;
  /** The package's dialect factory. */
  readonly factory: string;
}

/** The single table of "database family -> dialect package"; plugins never spell these names themselves. */
export const DATABASE_FAMILIES: Readonly<Record<DatabaseFamily, DatabaseFamilyPackage>> = Object.freeze({
  postgres: Object.freeze({ dialectName: 'postgres', packageName: '@outboxkit/postgres', factory: 'createPostgresDialect' }),
  mysql: Object.freeze({ dialectName: 'mysql', packageName: '@outboxkit/mysql', factory: 'createMysqlDialect' }),
  sqlite: Object.freeze({ dialectName: 'sqlite', packageName: '@outboxkit/sqlite', factory: 'createSqliteDialect' }),
});

/** `createPostgresDialect() from @outboxkit/postgres`: the fix a message names. */
export function dialectFactoryHint(family: DatabaseFamily): string {
  const { factory, packageName } = DATABASE_FAMILIES[family];
  return `${factory}() from ${packageName}`;
}

const ANY_FACTORY = Object.values(DATABASE_FAMILIES)
  .map((family) => `${family.factory}()`)
  .join(', ');

/**
 * Checks, once at setup, that a plugin's `dialect` option is an outboxkit dialect; throws an
 * {@link OutboxConfigError} naming `dialect` otherwise. Plugins need the writer role only.
 */
export function requireWriterDialect(dialect: unknown): WriterDialect {
  if (dialect === undefined || dialect === null) {
    throw new OutboxConfigError('dialect', `is required: pass the dialect of your database, one of ${ANY_FACTORY}`);
  }
  const candidate = dialect as Partial<WriterDialect>;
  if (typeof candidate !== 'object' || typeof candidate.insertEvents !== 'function' || typeof candidate.name !== 'string') {
    throw new OutboxConfigError('dialect', `is not an outboxkit dialect; create it with one of ${ANY_FACTORY}`);
  }
  return candidate as WriterDialect;
}

/**
 * Refuses a dialect that would send another database's SQL to the ORM's connection: better at
 * setup than as a syntax error inside the first business transaction. `database` says what the
 * ORM is connected to, for the message (e.g. `Sequelize is connected to postgres`).
 */
export function assertDialectFamily(dialect: WriterDialect, family: DatabaseFamily, database: string): void {
  if (dialect.name === DATABASE_FAMILIES[family].dialectName) return;
  throw new OutboxConfigError('dialect', `${database}, but the dialect is "${dialect.name}"; pass ${dialectFactoryHint(family)}`);
}

/**
 * Resolves a module specifier from the plugin's own location: `(specifier) => import(specifier)`
 * written in the plugin. The plugin is what (peer-)depends on the dialect packages, so the
 * import must resolve from there, not from core.
 */
export type PluginImport = (specifier: string) => Promise<unknown>;

/**
 * Loads the dialect package of `family` lazily, through the plugin's `load`: an application has
 * only its own database's package (and driver) installed. A missing package fails with an
 * {@link OutboxConfigError} saying what to install.
 *
 * @example
 * const { pgExecutor } = (await importDialectPackage('postgres', '@outboxkit/sequelize', (s) => import(s))) as typeof import('@outboxkit/postgres');
 */
export async function importDialectPackage(family: DatabaseFamily, plugin: string, load: PluginImport): Promise<unknown> {
  const { packageName } = DATABASE_FAMILIES[family];
  try {
    return await load(packageName);
  } catch (error) {
    throw new OutboxConfigError(
      'dialect',
      `could not load ${packageName}, which runs the outbox statements on the ORM's connection; install it next to ${plugin} (npm install ${packageName})`,
      { cause: error },
    );
  }
}
