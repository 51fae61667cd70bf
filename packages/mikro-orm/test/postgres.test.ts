import { describeOrmAdapterConformance } from '@outboxkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox, outboxRule } from '../src/index.js';
import { postgresql, type OrmDatabase } from './support/databases.js';
import { InvoiceSchema, OrderSchema } from './support/entities.js';
import { mikroOrmAdapter } from './support/mikro-orm-adapter.js';
import { describeMikroOrmOutbox } from './support/outbox-suite.js';
import { describeSchemaGeneratorKeepsOutbox } from './support/schema-generator-suite.js';

describeOrmAdapterConformance(mikroOrmAdapter(postgresql));
describeMikroOrmOutbox(postgresql);
describeSchemaGeneratorKeepsOutbox(postgresql);

// PostgreSQL can show directly what the other databases show through rollbacks: the entity row
// and its event row were written by one transaction (same xmin).
describe('MikroORM outbox on PostgreSQL: same transaction', () => {
  let db: OrmDatabase;
  beforeAll(async () => {
    db = await postgresql.setup((dialect) => ({
      dialect,
      rules: [
        outboxRule({
          entity: InvoiceSchema,
          on: ['create'],
          event: (i) => ({ aggregateType: 'invoice', aggregateId: i.id, type: 'invoice.created', payload: null }),
        }),
      ],
    }));
  });
  afterAll(async () => {
    await db?.dispose();
  });

  const xminOf = async (sql: string, param: unknown): Promise<string> => {
    const { rows } = await db.relayDatabase.query<{ xmin: string }>(sql, [param]);
    expect(rows).toHaveLength(1);
    return rows[0]!.xmin;
  };

  it('the entity row and its explicit and rule events carry one transaction id', async () => {
    const { schema } = db.dialect.tables;
    const em = db.orm.em.fork();
    em.persist(em.create(OrderSchema, { number: 'X-1', total: 1 }));
    const invoice = em.create(InvoiceSchema, { code: 'X-1', amount: 1 });
    em.persist(invoice);
    const event = outbox.add(em, { aggregateType: 'order', aggregateId: 'X-1', type: 'order.placed', payload: null });
    await em.flush();
    const events = `"${schema}"."${db.dialect.tables.names.events}"`;
    const order = await xminOf(`SELECT xmin::text AS xmin FROM "${schema}".orders WHERE number = $1`, 'X-1');
    expect(await xminOf(`SELECT xmin::text AS xmin FROM ${events} WHERE id = $1`, event.id)).toBe(order);
    expect(await xminOf(`SELECT xmin::text AS xmin FROM "${schema}".invoices WHERE id = $1`, invoice.id)).toBe(order);
    expect(await xminOf(`SELECT xmin::text AS xmin FROM ${events} WHERE aggregate_type = 'invoice' AND aggregate_id = $1`, String(invoice.id))).toBe(order);
    // A later flush is another transaction: the check above can tell them apart.
    const later = outbox.add(em, { aggregateType: 'order', aggregateId: 'X-1', type: 'order.paid', payload: null });
    await em.flush();
    expect(await xminOf(`SELECT xmin::text AS xmin FROM ${events} WHERE id = $1`, later.id)).not.toBe(order);
  });
});
