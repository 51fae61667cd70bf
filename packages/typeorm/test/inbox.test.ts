import { createInboxConsumer, type InboxConsumer } from '@outboxkit/rabbitmq';
import { RabbitTestBed, serviceUrl, storedEvent, uniqueName, waitFor } from '@outboxkit/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { typeormInbox } from '../src/index.js';
import { Order, postgresTarget, sqliteTarget, type TypeormTarget, type TypeormTestDatabase } from './support/databases.js';

// What every ORM's inbox must do runs in the ORM-adapter conformance suite of each database's
// test file; this file keeps what only typeormInbox has.
function withDatabase(
  target: TypeormTarget,
  body: (context: { db: () => TypeormTestDatabase; bed: () => RabbitTestBed; consumers: InboxConsumer[] }) => void,
): void {
  describe(`TypeORM inbox on ${target.name}`, () => {
    let db: TypeormTestDatabase;
    let bed: RabbitTestBed;
    const consumers: InboxConsumer[] = [];
    beforeAll(async () => {
      bed = new RabbitTestBed(await serviceUrl('rabbitmq'));
      db = await target.setup();
    });
    afterEach(async () => {
      for (const consumer of consumers.splice(0)) await consumer.close();
    });
    afterAll(async () => {
      await bed?.close();
      await db?.dispose();
    });
    body({ db: () => db, bed: () => bed, consumers });
  });
}

withDatabase(postgresTarget, ({ db, bed, consumers }) => {
  it('runs each delivery at the given isolation level', async () => {
    const queue = await bed().declare(uniqueName('oktypeorm_inbox'));
    const levels: string[] = [];
    const consumer = createInboxConsumer({
      connection: bed().connection,
      queue,
      consumer: `c_${queue}`,
      db: typeormInbox(db().dataSource, { isolationLevel: 'SERIALIZABLE' }),
      dialect: db().dialect,
      handler: async (_event, manager) => {
        const [row] = (await manager.query('SHOW transaction_isolation')) as { transaction_isolation: string }[];
        levels.push(row!.transaction_isolation);
      },
      retryDelayMs: 10,
    });
    consumers.push(consumer);
    await consumer.ready();
    await bed().publish(queue, storedEvent({ aggregateId: uniqueName('isolation') }));

    await waitFor('the delivery', () => consumer.stats().processed === 1);

    expect(levels).toEqual(['serializable']);
  });
});

withDatabase(sqliteTarget, ({ db, bed, consumers }) => {
  it('runs one delivery at a time, so a failing delivery never rolls back another one', async () => {
    const queue = await bed().declare(uniqueName('oktypeorm_inbox'));
    const good = Array.from({ length: 6 }, (_, i) => storedEvent({ aggregateId: uniqueName(`good${i}`) }));
    const poison = storedEvent({ aggregateId: uniqueName('poison') });
    for (const event of [good[0]!, poison, ...good.slice(1)]) await bed().publish(queue, event);
    let inside = 0;
    let mostInside = 0;
    const consumer = createInboxConsumer({
      connection: bed().connection,
      queue,
      consumer: `c_${queue}`,
      db: typeormInbox(db().dataSource),
      dialect: db().dialect,
      concurrency: 4,
      maxAttempts: 2,
      retryDelayMs: 10,
      handler: async (event, manager) => {
        inside++;
        mostInside = Math.max(mostInside, inside);
        try {
          await manager.insert(Order, { id: event.id, total: 1 });
          // Let other deliveries run, as a handler awaiting I/O would.
          await new Promise((resolve) => setImmediate(resolve));
          if (event.id === poison.id) throw new Error('cannot apply');
        } finally {
          inside--;
        }
      },
    });
    consumers.push(consumer);
    await consumer.ready();

    await waitFor('all deliveries settled', () => consumer.stats().processed === good.length && consumer.stats().deadLettered === 1);

    expect(mostInside).toBe(1);
    for (const event of good) expect(await db().dataSource.manager.countBy(Order, { id: event.id })).toBe(1);
    expect(await db().dataSource.manager.countBy(Order, { id: poison.id })).toBe(0);
    expect(
      await db().dialect.inboxContains(
        db().relayDatabase,
        `c_${queue}`,
        good.map((event) => event.id),
      ),
    ).toHaveLength(good.length);
  });
});
