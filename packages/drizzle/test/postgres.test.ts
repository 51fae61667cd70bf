import { describeOrmAdapterConformance, uniqueName } from '@outboxkit/testkit';
import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drizzleOutbox } from '../src/index.js';
import { describeAsyncDrizzleOutbox } from './support/async-outbox-suite.js';
import { postgresql, type DrizzleTestDatabase } from './support/databases.js';
import { postgresAdapter } from './support/drizzle-adapter.js';

// One schema per suite, dropped afterwards (see support/databases.ts).
describeOrmAdapterConformance(postgresAdapter(postgresql));
describeAsyncDrizzleOutbox(postgresql);

// PostgreSQL shows directly what the other databases show through rollbacks.
describe('Drizzle outbox on PostgreSQL: one transaction, its config kept', () => {
  let setup: DrizzleTestDatabase<NodePgDatabase>;
  beforeAll(async () => {
    setup = await postgresql.setup();
  });
  afterAll(async () => {
    await setup?.dispose();
  });

  it('the wrapped db.transaction keeps its config, and the event row carries the business transaction id', async () => {
    const outbox = await drizzleOutbox(setup.db, { dialect: setup.dialect });
    const { schema, names } = setup.dialect.tables;
    const { xid, level, id } = await setup.db.transaction(
      async (tx) => {
        const [event] = await outbox(tx).add({ aggregateType: 'order', aggregateId: uniqueName('xid'), type: 'order.placed', payload: null });
        const { rows } = await tx.execute<{ xid: string; level: string }>(
          sql`SELECT pg_current_xact_id()::text AS xid, current_setting('transaction_isolation') AS level`,
        );
        return { ...rows[0]!, id: event!.id };
      },
      { isolationLevel: 'serializable' },
    );
    expect(level).toBe('serializable');
    const { rows } = await setup.database.query<{ xmin: string }>(`SELECT xmin::text AS xmin FROM "${schema}"."${names.events}" WHERE id = $1`, [id]);
    expect(rows).toEqual([{ xmin: xid }]);
  });
});
