import { OutboxConfigError, type SqlExecutor } from '@outboxkit/core';

/**
 * How to run the outbox dialect's statements on the raw driver connection a Sequelize
 * transaction holds (`transaction.connection`), per Sequelize dialect. The executors come from
 * the dialect packages, so the writer's SQL runs exactly as the relay's does, on the very
 * connection the business statements of that transaction use:
 *
 * - postgres: Sequelize holds a `pg` Client; `pgExecutor` uses its promise API.
 * - mysql: Sequelize holds a callback-style `mysql2` Connection; `.promise()` is mysql2's own
 *   promise wrapper over the same connection (it adds no listeners until someone listens on it).
 * - sqlite: Sequelize opens one `sqlite3` Database per transaction (keyed by the transaction id)
 *   and runs every statement of that transaction on it; `sqlite3Executor` adapts it.
 *
 * The dialect packages are imported lazily: each imports its own driver, and an application
 * has only the one for its database installed.
 */
interface ConnectionAdapter {
  /** `Dialect.name` of the outbox dialect for this database. */
  readonly outboxDialect: string;
  /** The factory that builds the dialect, for messages. */
  readonly factory: string;
  readonly load: () => Promise<(connection: unknown) => SqlExecutor>;
}

interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}
interface Mysql2CallbackConnectionLike {
  promise(): { query(sql: string, values?: unknown): Promise<[unknown, unknown]> };
}

const ADAPTERS: Readonly<Record<string, ConnectionAdapter>> = {
  postgres: {
    outboxDialect: 'postgres',
    factory: 'createPostgresDialect() from @outboxkit/postgres',
    load: async () => {
      const { pgExecutor } = await importDialectPackage('@outboxkit/postgres', () => import('@outboxkit/postgres'));
      return (connection) => pgExecutor(connection as PgClientLike);
    },
  },
  mysql: {
    outboxDialect: 'mysql',
    factory: 'createMysqlDialect() from @outboxkit/mysql',
    load: async () => {
      const { mysqlExecutor } = await importDialectPackage('@outboxkit/mysql', () => import('@outboxkit/mysql'));
      return (connection) => mysqlExecutor((connection as Mysql2CallbackConnectionLike).promise());
    },
  },
  sqlite: {
    outboxDialect: 'sqlite',
    factory: 'createSqliteDialect() from @outboxkit/sqlite',
    load: async () => {
      const { sqlite3Executor } = await importDialectPackage('@outboxkit/sqlite', () => import('@outboxkit/sqlite'));
      return (connection) => sqlite3Executor(connection as Parameters<typeof sqlite3Executor>[0]);
    },
  },
};

/**
 * The adapter for a Sequelize dialect name (`sequelize.getDialect()`). Throws an
 * `OutboxConfigError` for databases outboxkit has no dialect for, or when the Sequelize
 * `mariadb` dialect (the `mariadb` driver) is used: outboxkit's MySQL dialect talks to MariaDB
 * through `mysql2`, i.e. Sequelize's `mysql` dialect.
 */
export function connectionAdapterFor(sequelizeDialect: string): ConnectionAdapter {
  const adapter = ADAPTERS[sequelizeDialect];
  if (adapter) return adapter;
  const hint =
    sequelizeDialect === 'mariadb'
      ? "connect Sequelize to MariaDB with dialect: 'mysql' (the mysql2 driver), which outboxkit's MySQL dialect supports"
      : `outboxkit supports Sequelize's postgres, mysql (MySQL and MariaDB via mysql2) and sqlite dialects`;
  throw new OutboxConfigError('sequelize', `Sequelize dialect "${sequelizeDialect}" is not supported: ${hint}`);
}

async function importDialectPackage<T>(name: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw new OutboxConfigError('dialect', `could not load ${name}, which runs the outbox statements on Sequelize's connection; install it next to @outboxkit/sequelize`, {
      cause: error,
    });
  }
}
