import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { withOutbox } from '../src/index.js';
import { ENTITIES } from './support/entities.js';
import type { OrmHarness } from './support/harness.js';
import { describeMikroOrmOutbox } from './support/outbox-suite.js';

// A file of its own in a temporary directory; the relay opens the same file (WAL) separately.
const harness: OrmHarness = {
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

describeMikroOrmOutbox(harness);
