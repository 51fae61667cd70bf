import pg from 'pg';
import { describeDialectConformance, serviceUrl, uniqueName, type DialectHarness } from '@outboxkit/testkit';
import { createPostgresDialect, pgDatabase } from '../src/index.js';

// Each test gets its own schema, migrated, and drops it afterwards.
const harness: DialectHarness = {
  name: 'PostgreSQL',
  features: { concurrentWriters: true },
  createDialect: (tables) => createPostgresDialect({ tables }),
  async setup() {
    const url = await serviceUrl('postgres');
    const schema = uniqueName('okt');
    const pools: pg.Pool[] = [];
    const open = (): ReturnType<typeof pgDatabase> => {
      const pool = new pg.Pool({ connectionString: url, max: 10 });
      pools.push(pool);
      return pgDatabase(pool);
    };
    const database = open();
    const dialect = createPostgresDialect({ tables: { schema } });
    await dialect.migrate(database);
    return {
      dialect,
      database,
      openPool: async () => open(),
      async dispose() {
        await pools[0]!.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await Promise.all(pools.map((pool) => pool.end()));
      },
    };
  },
};

describeDialectConformance(harness);
