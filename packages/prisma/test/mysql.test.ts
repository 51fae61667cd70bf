import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createSqliteDialect } from '@outboxkit/sqlite';
import { serviceUrl, uniqueName } from '@outboxkit/testkit';
import { BUSINESS_TABLES, type PrismaHarness } from './support/harness.js';
import { describePrismaOutbox } from './support/prisma-outbox-suite.js';
import { loadTestClients, type TestPrismaClient } from './support/test-clients.js';

const { mysql: PrismaClient } = await loadTestClients();

// One MariaDB database per test file, dropped afterwards.
const harness: PrismaHarness = {
  name: 'MariaDB',
  async setup() {
    const serverUrl = await serviceUrl('mysql');
    const name = uniqueName('okprisma');
    const database = mysqlDatabase(createMysqlPool(serverUrl, { connectionLimit: 4 }));
    await database.query(`CREATE DATABASE \`${name}\``);
    const dialect = createMysqlDialect({ tables: { schema: name } });
    await dialect.migrate(database);
    for (const statement of BUSINESS_TABLES.mysql(name)) await database.query(statement);
    const url = new URL(serverUrl);
    const prisma = new PrismaClient({
      adapter: new PrismaMariaDb({
        host: url.hostname,
        port: Number(url.port || 3306),
        user: decodeURIComponent(url.username),
        password: decodeURIComponent(url.password),
        database: name,
        connectionLimit: 4,
      }),
    });
    return {
      prisma: prisma as unknown as TestPrismaClient,
      dialect,
      wrongDialect: createSqliteDialect(),
      database,
      async dispose() {
        await prisma.$disconnect();
        await database.query(`DROP DATABASE IF EXISTS \`${name}\``);
        await database.close();
      },
    };
  },
};

describePrismaOutbox(harness);
