import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
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

// A schema of its own on the shared server: the ORM's entities and the outbox tables live in it.
export const postgresql: OrmDatabaseKind = {
  name: 'PostgreSQL',
  async setup(outbox) {
    const serverUrl = await serviceUrl('postgres');
    const { schema, drop } = await withPostgresSchema({ prefix: 'okmo' });
    const dialect = createPostgresDialect({ tables: { schema } });
    const relayDatabase = pgDatabase(createPgPool(serverUrl, { max: 4 }));
    await dialect.migrate(relayDatabase);
    const orm = await MikroORM.init(
      withOutbox({ driver: PostgreSqlDriver, clientUrl: serverUrl, schema, entities: ENTITIES, debug: false }, outbox(dialect)),
    );
    await orm.schema.createSchema({ schema });
    return {
      orm,
      dialect,
      relayDatabase,
      async dispose() {
        await orm.close(true);
        await relayDatabase.close();
        await drop();
      },
    };
  },
};

// A database of its own on the shared server: the ORM's entities and the outbox tables live in it.
export const mariadb: OrmDatabaseKind = {
  name: 'MariaDB',
  async setup(outbox) {
    const serverUrl = await serviceUrl('mysql');
    const database = uniqueName('okmo');
    const relayDatabase = mysqlDatabase(createMysqlPool(serverUrl, { connectionLimit: 4 }));
    await relayDatabase.query(`CREATE DATABASE \`${database}\``);
    const dialect = createMysqlDialect({ tables: { schema: database } });
    await dialect.migrate(relayDatabase);
    const server = new URL(serverUrl);
    const orm = await MikroORM.init(
      withOutbox(
        {
          driver: MariaDbDriver,
          clientUrl: `${server.protocol}//${server.username ? `${server.username}@` : ''}${server.host}`,
          password: decodeURIComponent(server.password) || undefined,
          dbName: database,
          entities: ENTITIES,
          debug: false,
        },
        outbox(dialect),
      ),
    );
    await orm.schema.createSchema();
    return {
      orm,
      dialect,
      relayDatabase,
      async dispose() {
        await orm.close(true);
        await relayDatabase.query(`DROP DATABASE IF EXISTS \`${database}\``);
        await relayDatabase.close();
      },
    };
  },
};

// A file of its own in a temporary directory; the relay opens the same file (WAL) separately.
export const sqlite: OrmDatabaseKind = {
  name: 'SQLite',
  async setup(outbox) {
    const dir = mkdtempSync(join(tmpdir(), 'outboxkit-mikro-orm-'));
    const file = join(dir, 'app.db');
    const dialect = createSqliteDialect();
    const relayDatabase = openSqliteDatabase(file);
    await dialect.migrate(relayDatabase);
    const orm = await MikroORM.init(withOutbox({ driver: BetterSqliteDriver, dbName: file, entities: ENTITIES, debug: false }, outbox(dialect)));
    await orm.schema.createSchema();
    return {
      orm,
      dialect,
      relayDatabase,
      async dispose() {
        await orm.close(true);
        await relayDatabase.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
