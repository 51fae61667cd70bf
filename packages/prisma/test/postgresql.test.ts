import { PrismaPg } from '@prisma/adapter-pg';
import { createMysqlDialect } from '@outboxkit/mysql';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { serviceUrl, uniqueName, withPostgresSchema } from '@outboxkit/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox } from '../src/index.js';
import { BUSINESS_TABLES, type PrismaHarness } from './support/harness.js';
import { describePrismaOutbox } from './support/prisma-outbox-suite.js';
import { loadTestClients, type TestPrismaClient } from './support/test-clients.js';

const { postgresql: PrismaClient } = await loadTestClients();

// One schema per test file: the outbox tables from the dialect's migrations, the business tables
// from test/schemas/postgresql.prisma written as SQL.
const harness: PrismaHarness = {
  name: 'PostgreSQL',
  async setup() {
    const schema = await withPostgresSchema({ prefix: 'okprisma' });
    const database = pgDatabase(createPgPool(schema.url, { max: 4 }));
    const dialect = createPostgresDialect({ tables: { schema: schema.schema }, notify: { channel: uniqueName('okprisma') } });
    await dialect.migrate(database);
    for (const statement of BUSINESS_TABLES.postgresql(schema.schema)) await database.query(statement);
    const prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: schema.url }, { schema: schema.schema }) });
    return {
      prisma: prisma as unknown as TestPrismaClient,
      dialect,
      wrongDialect: createMysqlDialect(),
      database,
      async dispose() {
        await prisma.$disconnect();
        await database.close();
        await schema.drop();
      },
    };
  },
};

describePrismaOutbox(harness);

describe('Prisma outbox extension: PostgreSQL NOTIFY', () => {
  let db: Awaited<ReturnType<typeof harness.setup>>;
  beforeAll(async () => {
    db = await harness.setup();
  });
  afterAll(async () => {
    await db?.dispose();
  });

  // Prisma cannot decode the void column of `SELECT pg_notify(...)`; the executor tolerates that
  // after the statement ran, so relays in other processes still wake at commit.
  it('delivers the dialect NOTIFY at commit of a Prisma transaction', async () => {
    const channel = (db.dialect as ReturnType<typeof createPostgresDialect>).notifyChannel!;
    const listener = new pg.Client({ connectionString: await serviceUrl('postgres') });
    await listener.connect();
    try {
      const notified = new Promise<string>((resolve) => listener.on('notification', (message) => resolve(message.channel)));
      await listener.query(`LISTEN "${channel}"`);
      const prisma = db.prisma.$extends(outbox({ dialect: db.dialect }));
      await prisma.$transaction(async (tx) => {
        await tx.$outbox({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: {} });
      });
      expect(await notified).toBe(channel);
    } finally {
      await listener.end();
    }
  });
});
