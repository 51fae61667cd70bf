import { createInboxConsumer, type InboxConsumer } from '@outboxkit/rabbitmq';
import { RabbitTestBed, serviceUrl, storedEvent, uniqueName, waitFor } from '@outboxkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prismaInbox } from '../src/index.js';
import { postgresql, type PrismaTestDatabase } from './support/databases.js';

// What every ORM's inbox must do runs in the ORM-adapter conformance suite of each database's
// test file; this file keeps what only prismaInbox has: Prisma's transaction options.
describe('Prisma inbox: transaction options', () => {
  let db: PrismaTestDatabase;
  let bed: RabbitTestBed;
  let consumer: InboxConsumer | undefined;

  beforeAll(async () => {
    bed = new RabbitTestBed(await serviceUrl('rabbitmq'));
    db = await postgresql.setup();
  });

  afterAll(async () => {
    await consumer?.close();
    await bed?.close();
    await db?.dispose();
  });

  it('runs each delivery with the given isolation level (PostgreSQL)', async () => {
    const queue = await bed.declare(uniqueName('okp_inbox_opts'));
    const levels: string[] = [];
    consumer = createInboxConsumer({
      connection: bed.connection,
      queue,
      consumer: `c_${queue}`,
      db: prismaInbox(db.prisma, { isolationLevel: 'Serializable', timeout: 20_000 }),
      dialect: db.dialect,
      handler: async (_event, tx) => {
        const [row] = await tx.$queryRawUnsafe<{ transaction_isolation: string }[]>('SHOW transaction_isolation');
        levels.push(row!.transaction_isolation);
      },
      retryDelayMs: 10,
    });
    await consumer.ready();
    await bed.publish(queue, storedEvent({ aggregateId: 'prisma-isolation' }));

    await waitFor('the delivery', () => consumer!.stats().processed === 1);

    expect(levels).toEqual(['serializable']);
  });
});
