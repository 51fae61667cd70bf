import { MikroORM } from '@mikro-orm/core';
import { MariaDbDriver } from '@mikro-orm/mariadb';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { serviceUrl, uniqueName } from '@outboxkit/testkit';
import { withOutbox } from '../src/index.js';
import { ENTITIES } from './support/entities.js';
import type { OrmHarness } from './support/harness.js';
import { describeMikroOrmOutbox } from './support/outbox-suite.js';

// A database of its own on the shared server: the ORM's entities and the outbox tables live in it.
const harness: OrmHarness = {
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
      withOutbox({ driver: MariaDbDriver, clientUrl: `${server.protocol}//${server.username ? `${server.username}@` : ''}${server.host}`, password: decodeURIComponent(server.password) || undefined, dbName: database, entities: ENTITIES, debug: false }, outbox(dialect)),
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

describeMikroOrmOutbox(harness);
