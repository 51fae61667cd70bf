import { createInboxConsumer, type InboxConsumer } from '@outboxkit/rabbitmq';
import { RabbitTestBed, serviceUrl, storedEvent, uniqueName, waitFor } from '@outboxkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { knexInbox } from '../src/index.js';
import { postgresTarget, type KnexTestDatabase } from './support/databases.js';

// What every ORM's inbox must do runs in the ORM-adapter conformance suite of each database's
// test file; this file keeps what only knexInbox has: knex's transaction config.
describe('Knex inbox: transaction config', () => {
  let db: KnexTestDatabase;
  let bed: RabbitTestBed;
  let consumer: InboxConsumer | undefined;

  beforeAll(async () => {
    bed = new RabbitTestBed(await serviceUrl('rabbitmq'));
    db = await postgresTarget.setup();
  });

  afterAll(async () => {
    await consumer?.close();
    await bed?.close();
    await db?.dispose();
  });

  it('runs each delivery with the given isolation level (PostgreSQL)', async () => {
    const queue = await bed.declare(uniqueName('okknex_inbox'));
    const levels: string[] = [];
    consumer = createInboxConsumer({
      connection: bed.connection,
      queue,
      consumer: `c_${queue}`,
      db: knexInbox(db.knex, { isolationLevel: 'serializable' }),
      dialect: db.dialect,
      handler: async (_event, trx) => {
        const { rows } = await trx.raw<{ rows: { transaction_isolation: string }[] }>('SHOW transaction_isolation');
        levels.push(rows[0]!.transaction_isolation);
      },
      retryDelayMs: 10,
    });
    await consumer.ready();
    await bed.publish(queue, storedEvent({ aggregateId: uniqueName('isolation') }));

    await waitFor('the delivery', () => consumer!.stats().processed === 1);

    expect(levels).toEqual(['serializable']);
  });
});
