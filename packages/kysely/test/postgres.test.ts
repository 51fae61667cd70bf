import { createInboxConsumer, type InboxConsumer } from '@outboxkit/rabbitmq';
import { describeOrmAdapterConformance, RabbitTestBed, serviceUrl, storedEvent, uniqueName, waitFor } from '@outboxkit/testkit';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kyselyInbox, kyselyOutbox } from '../src/index.js';
import { postgresql, type KyselyTestDatabase } from './support/databases.js';
import { kyselyAdapter } from './support/kysely-adapter.js';
import { describeKyselyOutbox } from './support/kysely-suite.js';

// One schema per suite, dropped afterwards (see support/databases.ts).
describeOrmAdapterConformance(kyselyAdapter(postgresql));
describeKyselyOutbox(postgresql);

// PostgreSQL shows directly what the other databases show through rollbacks and settings.
describe('Kysely on PostgreSQL: one transaction, inbox settings', () => {
  let setup: KyselyTestDatabase;
  let bed: RabbitTestBed;
  let consumer: InboxConsumer | undefined;
  beforeAll(async () => {
    bed = new RabbitTestBed(await serviceUrl('rabbitmq'));
    setup = await postgresql.setup();
  });
  afterAll(async () => {
    await consumer?.close();
    await bed?.close();
    await setup?.dispose();
  });

  it('the event row carries the business transaction id', async () => {
    const outbox = kyselyOutbox(setup.db, { dialect: setup.dialect });
    const { xid, id } = await setup.db.transaction().execute(async (trx) => {
      const [event] = await outbox(trx).add({ aggregateType: 'order', aggregateId: uniqueName('xid'), type: 'order.placed', payload: null });
      const { rows } = await sql<{ xid: string }>`SELECT pg_current_xact_id()::text AS xid`.execute(trx);
      return { xid: rows[0]!.xid, id: event!.id };
    });
    const { schema, names } = setup.dialect.tables;
    const { rows } = await setup.database.query<{ xmin: string }>(`SELECT xmin::text AS xmin FROM "${schema}"."${names.events}" WHERE id = $1`, [id]);
    expect(rows).toEqual([{ xmin: xid }]);
  });

  it('kyselyInbox runs each delivery with the given isolation level', async () => {
    const queue = await bed.declare(uniqueName('okky_inbox'));
    const levels: string[] = [];
    consumer = createInboxConsumer({
      connection: bed.connection,
      queue,
      consumer: `c_${queue}`,
      db: kyselyInbox(setup.db, { isolationLevel: 'serializable' }),
      dialect: setup.dialect,
      handler: async (_event, trx) => {
        const { rows } = await sql<{ level: string }>`SELECT current_setting('transaction_isolation') AS level`.execute(trx);
        levels.push(rows[0]!.level);
      },
      retryDelayMs: 10,
    });
    await consumer.ready();
    await bed.publish(queue, storedEvent({ aggregateId: uniqueName('iso') }));
    await waitFor('the delivery', () => consumer!.stats().processed === 1);
    expect(levels).toEqual(['serializable']);
  });
});
