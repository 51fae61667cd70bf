import { describeDialectConformance, serviceUrl, uniqueName, type DialectHarness } from '../../testkit/dist/index.js';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '../src/index.js';

// Each test gets its own MySQL database, migrated, and drops it afterwards.
const harness: DialectHarness = {
  name: 'MariaDB',
  features: { concurrentWriters: true },
  createDialect: (tables) => createMysqlDialect({ tables }),
  async setup() {
    const url = await serviceUrl('mysql');
    const schema = uniqueName('okmy');
    const pools: ReturnType<typeof createMysqlPool>[] = [];
    const open = () => {
      const pool = createMysqlPool(url, { connectionLimit: 10 });
      pools.push(pool);
      return mysqlDatabase(pool);
    };
    const database = open();
    await database.query(`CREATE DATABASE \`${schema}\``);
    const dialect = createMysqlDialect({ tables: { schema } });
    await dialect.migrate(database);
    return {
      dialect,
      database,
      openPool: async () => open(),
      async dispose() {
        await database.query(`DROP DATABASE IF EXISTS \`${schema}\``);
        await Promise.all(pools.map((pool) => pool.end()));
      },
    };
  },
};

describeDialectConformance(harness);
