import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { createPostgresDialect } from '@outboxkit/postgres';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { BUSINESS_TABLES, type PrismaHarness } from './support/harness.js';
import { describePrismaOutbox } from './support/prisma-outbox-suite.js';
import { loadTestClients, type TestPrismaClient } from './support/test-clients.js';

const { sqlite: PrismaClient } = await loadTestClients();

// One database file in a temporary directory per test file, deleted afterwards.
const harness: PrismaHarness = {
  name: 'SQLite',
  async setup() {
    const dir = mkdtempSync(join(tmpdir(), 'outboxkit-prisma-'));
    const path = join(dir, 'shop.db');
    const database = openSqliteDatabase(path);
    const dialect = createSqliteDialect();
    await dialect.migrate(database);
    for (const statement of BUSINESS_TABLES.sqlite()) await database.query(statement);
    const prisma = new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: `file:${path}` }) });
    return {
      prisma: prisma as unknown as TestPrismaClient,
      dialect,
      wrongDialect: createPostgresDialect(),
      database,
      async dispose() {
        await prisma.$disconnect();
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

describePrismaOutbox(harness);
