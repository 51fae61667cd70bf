import { importDialectPackage, OutboxConfigError, type DatabaseFamily, type SqlExecutor } from '@outboxkit/core';

type ExecutorFactory = (connection: unknown) => SqlExecutor;

/** Sequelize dialect name (`sequelize.getDialect()`) -> the database family whose dialect writes its SQL. */
const FAMILY_OF_SEQUELIZE_DIALECT: Readonly<Record<string, DatabaseFamily>> = Object.freeze({
  postgres: 'postgres',
  mysql: 'mysql',
  sqlite: 'sqlite',
});

/** What each family's dialect package exports (types only: the packages are loaded lazily). */
interface DialectPackages {
  postgres: typeof import('@outboxkit/postgres');
  mysql: typeof import('@outboxkit/mysql');
  sqlite: typeof import('@outboxkit/sqlite');
}

interface PgClientLike {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}
interface Mysql2CallbackConnectionLike {
  promise(): { query(sql: string, values?: unknown): Promise<[unknown, unknown]> };
}

/**
 * How to run the outbox dialect's statements on the raw driver connection a Sequelize
 * transaction holds (`transaction.connection`), per family. The executors come from the dialect
 * packages, so the writer's SQL runs exactly as the relay's does, on the very connection the
 * business statements of that transaction use:
 *
 * - postgres: Sequelize holds a `pg` Client; `pgExecutor` uses its promise API.
 * - mysql: Sequelize holds a callback-style `mysql2` Connection; `.promise()` is mysql2's own
 *   promise wrapper over the same connection (it adds no listeners until someone listens on it).
 * - sqlite: Sequelize opens one `sqlite3` Database per transaction (keyed by the transaction id)
 *   and runs every statement of that transaction on it; `sqlite3Executor` adapts it.
 */
const EXECUTORS: { readonly [F in DatabaseFamily]: (dialectPackage: DialectPackages[F]) => ExecutorFactory } = {
  postgres:
    ({ pgExecutor }) =>
    (connection) =>
      pgExecutor(connection as PgClientLike),
  mysql:
    ({ mysqlExecutor }) =>
    (connection) =>
      mysqlExecutor((connection as Mysql2CallbackConnectionLike).promise()),
  sqlite:
    ({ sqlite3Executor }) =>
    (connection) =>
      sqlite3Executor(connection as Parameters<typeof sqlite3Executor>[0]),
};

/** One Sequelize database: its family, and the lazily loaded executor for its connections. */
export interface ConnectionAdapter {
  readonly family: DatabaseFamily;
  /**
   * The dialect package is imported at the first statement: each imports its own driver, and an
   * application has only the one for its database installed.
   */
  load(): Promise<ExecutorFactory>;
}

/**
 * The adapter for a Sequelize dialect name (`sequelize.getDialect()`). Throws an
 * `OutboxConfigError` for databases outboxkit has no dialect for, or when the Sequelize
 * `mariadb` dialect (the `mariadb` driver) is used: outboxkit's MySQL dialect talks to MariaDB
 * through `mysql2`, i.e. Sequelize's `mysql` dialect.
 */
export function connectionAdapterFor(sequelizeDialect: string): ConnectionAdapter {
  const family = FAMILY_OF_SEQUELIZE_DIALECT[sequelizeDialect];
  if (family === undefined) {
    const hint =
      sequelizeDialect === 'mariadb'
        ? "connect Sequelize to MariaDB with dialect: 'mysql' (the mysql2 driver), which outboxkit's MySQL dialect supports"
        : `outboxkit supports Sequelize's postgres, mysql (MySQL and MariaDB via mysql2) and sqlite dialects`;
    throw new OutboxConfigError('sequelize', `Sequelize dialect "${sequelizeDialect}" is not supported: ${hint}`);
  }
  const adapt = EXECUTORS[family] as (dialectPackage: unknown) => ExecutorFactory;
  return Object.freeze({
    family,
    load: () => importDialectPackage(family, '@outboxkit/sequelize', (specifier) => import(specifier)).then(adapt),
  });
}
