import { OutboxConfigError, OutboxTransactionRequiredError, type Dialect, type SqlExecutor } from '@outboxkit/core';

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

/** A raw driver MikroORM can run on, the dialect that speaks its SQL and how to load that dialect's executor. */
interface DriverBinding {
  readonly dialect: string;
  readonly dialectPackage: string;
  readonly dialectFactory: string;
  load(): Promise<ExecutorFactory>;
}

/**
 * The connection adapters come from the dialect packages, so the plugin writes through exactly the
 * code the dialect's own tests and the relay use. They are imported lazily: an application on
 * PostgreSQL has neither better-sqlite3 nor mysql2 installed.
 */
const DRIVERS: Readonly<Record<string, DriverBinding>> = {
  pg: {
    dialect: 'postgres',
    dialectPackage: '@outboxkit/postgres',
    dialectFactory: 'createPostgresDialect',
    load: async () => {
      const { pgExecutor } = await import('@outboxkit/postgres');
      return (connection) => pgExecutor(connection as Parameters<typeof pgExecutor>[0]);
    },
  },
  mysql2: { dialect: 'mysql', dialectPackage: '@outboxkit/mysql', dialectFactory: 'createMysqlDialect', load: loadMysqlExecutor },
  mariadb: { dialect: 'mysql', dialectPackage: '@outboxkit/mysql', dialectFactory: 'createMysqlDialect', load: loadMysqlExecutor },
  'better-sqlite3': {
    dialect: 'sqlite',
    dialectPackage: '@outboxkit/sqlite',
    dialectFactory: 'createSqliteDialect',
    load: async () => {
      const { sqliteExecutor } = await import('@outboxkit/sqlite');
      return (connection) => sqliteExecutor(connection as Parameters<typeof sqliteExecutor>[0]);
    },
  },
};

/** A callback-style connection: knex drives both mysql2 and the `mariadb/callback` connector this way. */
interface CallbackConnection {
  query(sql: string, values: unknown, callback: (error: unknown, result: unknown, fields: unknown) => void): unknown;
}

async function loadMysqlExecutor(): Promise<ExecutorFactory> {
  const { mysqlExecutor } = await import('@outboxkit/mysql');
  // mysqlExecutor takes mysql2's promise shape `query(sql, values) -> [result, fields]`; knex holds
  // the callback connection underneath. Both connectors answer a SELECT with an array of rows and a
  // write with an OK packet carrying `affectedRows`/`insertId`, which is what mysqlExecutor reads.
  return (connection) =>
    mysqlExecutor({
      query: (sql, values) =>
        new Promise<[unknown, unknown]>((resolve, reject) => {
          (connection as CallbackConnection).query(sql, values ?? [], (error, result, fields) => {
            if (error) reject(error);
            else resolve([result, fields]);
          });
        }),
    });
}

/** The driver names this plugin can write through, for messages. */
export const SUPPORTED_DRIVERS: readonly string[] = Object.keys(DRIVERS);

/**
 * Checks that `dialect` writes the SQL of the raw driver MikroORM uses. Returns the binding, or
 * throws an OutboxConfigError naming the `dialect` option (or the driver, when unsupported).
 * Without a dialect (the inbox: its dialect is the consumer's) only the driver is checked.
 */
export function bindingFor(dialect: Dialect | undefined, driverName: string | undefined, platform: string): DriverBinding {
  const binding = driverName === undefined ? undefined : DRIVERS[driverName];
  if (binding === undefined) {
    throw new OutboxConfigError(
      'driver',
      `MikroORM runs on ${platform} through the "${String(driverName)}" driver, which @outboxkit/mikro-orm cannot write through; ` +
        `supported drivers: ${SUPPORTED_DRIVERS.join(', ')} (@mikro-orm/postgresql, @mikro-orm/mysql, @mikro-orm/mariadb, @mikro-orm/better-sqlite)`,
    );
  }
  if (dialect !== undefined && binding.dialect !== dialect.name) {
    throw new OutboxConfigError(
      'dialect',
      `a "${dialect.name}" dialect cannot write to ${platform} (driver "${driverName}"); pass ${binding.dialectFactory}() ` +
        `from ${binding.dialectPackage}`,
    );
  }
  return binding;
}

const factories = new Map<DriverBinding, Promise<ExecutorFactory>>();

/**
 * A SqlExecutor on the raw connection of an open knex transaction, so the dialect's statements
 * run inside MikroORM's flush transaction. Refuses a finished or non-transaction context: writing
 * anywhere else would commit the events on their own.
 */
export async function transactionExecutor(dialect: Dialect | undefined, transaction: unknown, platform: string): Promise<{ executor: SqlExecutor; connection: object }> {
  const trx = transaction as KnexTransactionLike | undefined;
  if (!trx?.client?.transacting || trx.isCompleted?.() === true) {
    throw new OutboxTransactionRequiredError(
      'the outbox events of this flush have no open MikroORM transaction to join; flush inside the implicit flush transaction or em.transactional()',
    );
  }
  const binding = bindingFor(dialect, trx.client.driverName, platform);
  let factory = factories.get(binding);
  if (factory === undefined) {
    factory = binding.load();
    factories.set(binding, factory);
    // A failed import (package not installed) should be retried by the next flush, not cached.
    factory.catch(() => factories.delete(binding));
  }
  const connection = (await trx.client.acquireConnection()) as object;
  return { executor: (await factory)(connection), connection };
}

/** The raw connection a (possibly nested) knex transaction runs on; savepoints share their root's. */
export async function connectionOf(transaction: unknown): Promise<object | undefined> {
  const trx = transaction as KnexTransactionLike | undefined;
  if (!trx?.client?.transacting) return undefined;
  return (await trx.client.acquireConnection()) as object;
}
