import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM, type Options } from '@mikro-orm/core';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import { MariaDbDriver } from '@mikro-orm/mariadb';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { Dialect, SqlDatabase } from '@outboxkit/core';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { serviceUrl, uniqueName, withPostgresSchema } from '@outboxkit/testkit';
import { withOutbox, type OutboxOptions } from '../../src/index.js';
import { ENTITIES } from './entities.js';

/** One isolated database (a PostgreSQL schema, a MariaDB database or a SQLite file) with the ORM on it. */
export interface OrmDatabase {
  /** MikroORM created with `withOutbox(config, outbox(dialect))`, business tables created. */
  readonly orm: MikroORM;
  readonly dialect: Dialect;
  /** The relay's own pool on the same outbox and inbox tables (migrated through it). */
  readonly relayDatabase: SqlDatabase;
  /** Closes the ORM and the pool, drops what setup created. */
  dispose(): Promise<void>;
}

/** One database kind the MikroORM tests run on. */
export interface OrmDatabaseKind {
  readonly name: string;
  /** `outbox` turns the dialect into the plugin's options (rules included). */
  setup(outbox: (dialect: Dialect) => OutboxOptions): Promise<OrmDatabase>;
}

/**
 * Migrates the outbox tables through the relay's pool, starts MikroORM with the outbox on the
 * same database and creates the entities' tables. `drop` closes the pool and removes the database.
 */
async function openOrmDatabase(
  dialect: Dialect,
  relayDatabase: SqlDatabase,
  config: Options,
  outbox: (dialect: Dialect) => OutboxOptions,
  drop: () => Promise<void>,
): Promise<OrmDatabase> {
  await dialect.migrate(relayDatabase);
  const orm = await MikroORM.init(withOutbox({ ...config, entities: ENTITIES, debug: false }, outbox(dialect)));
  await orm.schema.createSchema(config.schema === undefined ? undefined : { schema: config.schema });
  return {
    orm,
    dialect,
    relayDatabase,
    async dispose() {
      await orm.close(true);
      await drop();
    },
  };
}

// A database of its own on the shared server, with a schema in it for the ORM's entities and the
// outbox tables. Not a schema in the shared database: MikroORM's updateSchema() diffs every
// schema of the database and drops the tables and schemas no entity maps, which would hit the
// other test files' schemas running at the same time.
export const postgresql: OrmDatabaseKind = {
  name: 'PostgreSQL',
  async setup(outbox) {
    const { url: databaseUrl, drop: dropDatabase } = await privatePostgresDatabase('okmo');
    const { schema } = await withPostgresSchema({ url: databaseUrl, prefix: 'okmo' });
    const relayDatabase = pgDatabase(createPgPool(databaseUrl, { max: 4 }));
    return openOrmDatabase(
      createPostgresDialect({ tables: { schema } }),
      relayDatabase,
      { driver: PostgreSqlDriver, clientUrl: databaseUrl, schema },
      outbox,
      async () => {
        await relayDatabase.close();
        await dropDatabase();
      },
    );
  },
};

/** CREATE DATABASE with a unique, validated name on the shared server; `drop` forces out leftover sessions. */
async function privatePostgresDatabase(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  const serverUrl = await serviceUrl('postgres');
  const name = uniqueName(prefix).toLowerCase();
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`unexpected database name ${name}`);
  const run = async (statement: string): Promise<void> => {
    const admin = pgDatabase(createPgPool(serverUrl, { max: 1 }));
    try {
      await admin.query(statement);
    } finally {
      await admin.close();
    }
  };
  await run(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}

// A database of its own on the shared server: the ORM's entities and the outbox tables live in it.
export const mariadb: OrmDatabaseKind = {
  name: 'MariaDB',
  async setup(outbox) {
    const serverUrl = await serviceUrl('mysql');
    const database = uniqueName('okmo');
    const relayDatabase = mysqlDatabase(createMysqlPool(serverUrl, { connectionLimit: 4 }));
    await relayDatabase.query(`CREATE DATABASE \`${database}\``);
    const server = new URL(serverUrl);
    const config: Options = {
      driver: MariaDbDriver,
      clientUrl: `${server.protocol}//${server.username ? `${server.username}@` : ''}${server.host}`,
      password: decodeURIComponent(server.password) || undefined,
      dbName: database,
    };
    return openOrmDatabase(createMysqlDialect({ tables: { schema: database } }), relayDatabase, config, outbox, async () => {
      await relayDatabase.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await relayDatabase.close();
    });
  },
};

// A file of its own in a temporary directory; the relay opens the same file (WAL) separately.
export const sqlite: OrmDatabaseKind = {
  name: 'SQLite',
  async setup(outbox) {
    const dir = mkdtempSync(join(tmpdir(), 'outboxkit-mikro-orm-'));
    const file = join(dir, 'app.db');
    const relayDatabase = openSqliteDatabase(file);
    return openOrmDatabase(createSqliteDialect(), relayDatabase, { driver: BetterSqliteDriver, dbName: file }, outbox, async () => {
      await relayDatabase.close();
      rmSync(dir, { recursive: true, force: true });
    });
  },
};
