import {
  assertDialectFamily,
  importDialectPackage,
  OutboxConfigError,
  OutboxTransactionRequiredError,
  type DatabaseFamily,
  type SqlExecutor,
  type WriterDialect,
} from '@outboxkit/core';

/**
 * The part of a knex transaction (what MikroORM's SQL drivers hand out as the transaction
 * context) that we use. knex gives every transaction a client whose `acquireConnection()`
 * always resolves to the one raw driver connection the transaction runs on.
 */
interface KnexTransactionLike {
  readonly client: {
    readonly driverName?: string;
    readonly transacting?: boolean;
    acquireConnection(): Promise<unknown>;
  };
  isCompleted?(): boolean;
}

type ExecutorFactory = (connection: unknown) => SqlExecutor;

/** The raw drivers MikroORM's SQL packages run on (knex's `driverName`), by database family. */
const FAMILY_OF_DRIVER: Readonly<Record<string, DatabaseFamily>> = Object.freeze({
  pg: 'postgres',
  mysql2: 'mysql',
  mariadb: 'mysql',
  'better-sqlite3': 'sqlite',
});

/** What each family's dialect package exports (types only: the packages are loaded lazily). */
interface DialectPackages {
  postgres: typeof import('@outboxkit/postgres');
  mysql: typeof import('@outboxkit/mysql');
  sqlite: typeof import('@outboxkit/sqlite');
}

/** A callback-style connection: knex drives both mysql2 and the `mariadb/callback` connector this way. */
interface CallbackConnection {
  query(sql: string, values: unknown, callback: (error: unknown, result: unknown, fields: unknown) => void): unknown;
}

/**
 * How each family's executor from its dialect package runs on the connection knex holds, so the
 * plugin writes through exactly the code the dialect's own tests and the relay use.
 */
const EXECUTORS: { readonly [F in DatabaseFamily]: (dialectPackage: DialectPackages[F]) => ExecutorFactory } = {
  postgres:
    ({ pgExecutor }) =>
    (connection) =>
      pgExecutor(connection as Parameters<typeof pgExecutor>[0]),
  // mysqlExecutor takes mysql2's promise shape `query(sql, values) -> [result, fields]`; knex holds
  // the callback connection underneath. Both connectors answer a SELECT with an array of rows and a
  // write with an OK packet carrying `affectedRows`/`insertId`, which is what mysqlExecutor reads.
  mysql:
    ({ mysqlExecutor }) =>
    (connection) =>
      mysqlExecutor({
        query: (sql, values) =>
          new Promise<[unknown, unknown]>((resolve, reject) => {
            (connection as CallbackConnection).query(sql, values ?? [], (error, result, fields) => {
              if (error) reject(error);
              else resolve([result, fields]);
            });
          }),
      }),
  sqlite:
    ({ sqliteExecutor }) =>
    (connection) =>
      sqliteExecutor(connection as Parameters<typeof sqliteExecutor>[0]),
};

/** The driver names this plugin can write through, for messages. */
export const SUPPORTED_DRIVERS: readonly string[] = Object.keys(FAMILY_OF_DRIVER);

/**
 * The database family of the raw driver MikroORM uses, after checking that `dialect` writes its
 * SQL. Throws an OutboxConfigError naming the `dialect` option (or the driver, when unsupported).
 * Without a dialect (the inbox: its dialect is the consumer's) only the driver is checked.
 */
export function familyOfDriver(dialect: WriterDialect | undefined, driverName: string | undefined, platform: string): DatabaseFamily {
  const family = driverName === undefined ? undefined : FAMILY_OF_DRIVER[driverName];
  if (family === undefined) {
    throw new OutboxConfigError(
      'driver',
      `MikroORM runs on ${platform} through the "${String(driverName)}" driver, which @outboxkit/mikro-orm cannot write through; ` +
        `supported drivers: ${SUPPORTED_DRIVERS.join(', ')} (@mikro-orm/postgresql, @mikro-orm/mysql, @mikro-orm/mariadb, @mikro-orm/better-sqlite)`,
    );
  }
  if (dialect !== undefined) assertDialectFamily(dialect, family, `MikroORM runs on ${platform} (driver "${driverName}")`);
  return family;
}

const factories = new Map<DatabaseFamily, Promise<ExecutorFactory>>();

/**
 * The dialect package is imported lazily, once: an application on PostgreSQL has neither
 * better-sqlite3 nor mysql2 installed.
 */
function executorFactory(family: DatabaseFamily): Promise<ExecutorFactory> {
  let factory = factories.get(family);
  if (factory === undefined) {
    const adapt = EXECUTORS[family] as (dialectPackage: unknown) => ExecutorFactory;
    factory = importDialectPackage(family, '@outboxkit/mikro-orm', (specifier) => import(specifier)).then(adapt);
    factories.set(family, factory);
    // A failed import (package not installed) should be retried by the next flush, not cached.
    factory.catch(() => factories.delete(family));
  }
  return factory;
}

/**
 * A SqlExecutor on the raw connection of an open knex transaction, so the dialect's statements
 * run inside MikroORM's flush transaction. Refuses a finished or non-transaction context: writing
 * anywhere else would commit the events on their own.
 */
export async function transactionExecutor(
  dialect: WriterDialect | undefined,
  transaction: unknown,
  platform: string,
): Promise<{ executor: SqlExecutor; connection: object }> {
  const trx = transaction as KnexTransactionLike | undefined;
  if (!trx?.client?.transacting || trx.isCompleted?.() === true) {
    throw new OutboxTransactionRequiredError(
      'the outbox events of this flush have no open MikroORM transaction to join; flush inside the implicit flush transaction or em.transactional()',
    );
  }
  const factory = executorFactory(familyOfDriver(dialect, trx.client.driverName, platform));
  const connection = (await trx.client.acquireConnection()) as object;
  return { executor: (await factory)(connection), connection };
}

/** The raw connection a (possibly nested) knex transaction runs on; savepoints share their root's. */
export async function connectionOf(transaction: unknown): Promise<object | undefined> {
  const trx = transaction as KnexTransactionLike | undefined;
  if (!trx?.client?.transacting) return undefined;
  return (await trx.client.acquireConnection()) as object;
}
