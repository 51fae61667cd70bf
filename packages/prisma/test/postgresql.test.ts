import { describeOrmAdapterConformance, serviceUrl } from '@outboxkit/testkit';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox } from '../src/index.js';
import { postgresql, type PrismaTestDatabase } from './support/databases.js';
import { prismaAdapter } from './support/prisma-adapter.js';
import { describePrismaOutbox } from './support/prisma-outbox-suite.js';

describeOrmAdapterConformance(prismaAdapter(postgresql));
describePrismaOutbox(postgresql);

describe('Prisma outbox extension: PostgreSQL NOTIFY', () => {
  let db: PrismaTestDatabase;
  beforeAll(async () => {
    db = await postgresql.setup();
  });
  afterAll(async () => {
    await db?.dispose();
  });

  // Prisma cannot decode the void column of `SELECT pg_notify(...)`; the dialect's statement casts
  // it to text, so relays in other processes still wake at commit.
  it('delivers the dialect NOTIFY at commit of a Prisma transaction', async () => {
    const channel = db.notifyChannel!;
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
