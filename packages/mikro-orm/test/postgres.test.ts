import { MikroORM } from '@mikro-orm/core';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { serviceUrl, withPostgresSchema } from '@outboxkit/testkit';
import { withOutbox } from '../src/index.js';
import { ENTITIES } from './support/entities.js';
import type { OrmHarness } from './support/harness.js';
import { describeMikroOrmOutbox } from './support/outbox-suite.js';

// A schema of its own on the shared server: the ORM's entities and the outbox tables live in it.
const harness: OrmHarness = {
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

describeMikroOrmOutbox(harness);
