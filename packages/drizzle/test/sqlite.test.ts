import { OutboxConfigError, OutboxTransactionRequiredError, OutboxValidationError, type EventInput, type WrittenEvent } from '@outboxkit/core';
import { describeOrmAdapterConformance, uniqueName, useDeliveryHooks } from '@outboxkit/testkit';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drizzleInbox, drizzleOutbox, type DrizzleOutbox } from '../src/index.js';
import { countOrders, sqlite, sqliteOrders, type SqliteTestDatabase } from './support/databases.js';
import { sqliteAdapter } from './support/drizzle-adapter.js';

// One database file in a temporary directory per suite, deleted afterwards (see support/databases.ts).
describeOrmAdapterConformance(sqliteAdapter(sqlite));

const placed = (key: string, n = 1): EventInput => ({ aggregateType: 'order', aggregateId: key, type: 'order.placed', payload: { key, n } });

/**
 * The idiom on better-sqlite3: `db.transaction((tx) => ...)` is synchronous, and `outbox(tx).add`
 * writes before it returns. The guarantees of the conformance suite, checked in that idiom, end
 * to end with the real relay and RabbitMQ.
 */
describe('Drizzle outbox on SQLite (better-sqlite3): the synchronous db.transaction idiom', () => {
  let setup: SqliteTestDatabase;
  let outbox: DrizzleOutbox;

  beforeAll(async () => {
    setup = await sqlite.setup();
    outbox = await drizzleOutbox(setup.db, { dialect: setup.dialect });
  });

  afterAll(async () => {
    await setup?.dispose();
  });

  const delivery = useDeliveryHooks(() => setup);
  const { pending } = delivery;
  const insert = (tx: Pick<typeof setup.db, 'insert'>, key: string) => tx.insert(sqliteOrders).values({ number: key, total: 5 }).run();

  it('the row and its events commit together: add returns the written events, sequences in order, one wake-up after the commit', async () => {
    const key = uniqueName('same');
    const written = setup.db.transaction((tx) => {
      insert(tx, key);
      const events = outbox(tx).add([placed(key, 1), placed(key, 2)]);
      // Written already, in the transaction: visible on its connection, not yet committed.
      expect(countOrders.sqlite(tx, key)).toBe(1);
      expect(setup.connection.inTransaction).toBe(true);
      expect(delivery.signals).toBe(0);
      return events;
    });
    expect(Array.isArray(written)).toBe(true);
    expect(written.map((event: WrittenEvent) => event.sequence)).toEqual([1, 2]);
    expect(delivery.signals).toBe(1);
    expect(countOrders.sqlite(setup.db, key)).toBe(1);
    delivery.bench.record(written, 'committed');
    const { drained } = await delivery.bench.deliverAndCheck();
    expect(drained.published).toBe(2);
    expect(delivery.bench.bodyOf(written[0]!.id)).toEqual({ key, n: 1 });
  });

  it('a throw or tx.rollback() leaves neither the row nor the events, and wakes nobody', async () => {
    const key = uniqueName('rollback');
    let lost: WrittenEvent[] = [];
    expect(() =>
      setup.db.transaction((tx) => {
        insert(tx, key);
        lost = outbox(tx).add(placed(key));
        throw new Error('rolled back by the test');
      }),
    ).toThrow('rolled back by the test');
    expect(() =>
      setup.db.transaction((tx) => {
        outbox(tx).add(placed(key));
        tx.rollback();
      }),
    ).toThrow(/Rollback/);
    delivery.bench.record(lost, 'rolled-back');
    expect(countOrders.sqlite(setup.db, key)).toBe(0);
    expect(await pending()).toBe(0);
    expect(delivery.signals).toBe(0);
    const kept = setup.db.transaction((tx) => outbox(tx).add(placed(uniqueName('kept'))));
    delivery.bench.record(kept, 'committed');
    const { report } = await delivery.bench.deliverAndCheck();
    expect(report.rolledBack).toBe(1);
  });

  it('an invalid event throws synchronously, so the transaction rolls back instead of committing the row alone', async () => {
    const key = uniqueName('invalid');
    expect(() =>
      setup.db.transaction((tx) => {
        insert(tx, key);
        outbox(tx).add([placed(key), { ...placed(key), aggregateId: '' }]);
      }),
    ).toThrow(OutboxValidationError);
    expect(countOrders.sqlite(setup.db, key)).toBe(0);
    expect(await pending()).toBe(0);
  });

  it('savepoints: a rolled-back tx.transaction takes its row and events along, a released one commits with the outer transaction', async () => {
    const [outer, inner, released] = [uniqueName('outer'), uniqueName('inner'), uniqueName('released')];
    let rolledBack: WrittenEvent[] = [];
    const written = setup.db.transaction((tx) => {
      insert(tx, outer);
      const own = outbox(tx).add(placed(outer));
      expect(() =>
        tx.transaction((nested) => {
          insert(nested, inner);
          rolledBack = outbox(nested).add(placed(inner));
          throw new Error('inner unit fails');
        }),
      ).toThrow('inner unit fails');
      const fromSavepoint = tx.transaction((nested) => outbox(nested).add(placed(released)));
      expect(delivery.signals).toBe(0);
      return [...own, ...fromSavepoint];
    });
    expect(delivery.signals).toBe(1);
    delivery.bench.record(written, 'committed');
    delivery.bench.record(rolledBack, 'rolled-back');
    expect([outer, inner].map((key) => countOrders.sqlite(setup.db, key))).toEqual([1, 0]);
    expect(await pending()).toBe(2);
    await delivery.bench.deliverAndCheck();
    expect(delivery.bench.log.wasDelivered(rolledBack[0]!.id)).toBe(false);
  });

  it('100 events of one aggregate in one transaction get sequences 1..100 and are delivered in that order', async () => {
    const key = uniqueName('many');
    const written = setup.db.transaction((tx) => [
      ...outbox(tx).add(placed(key, 1)),
      ...outbox(tx).add(Array.from({ length: 99 }, (_, i) => placed(key, i + 2))),
    ]);
    expect(written.map((event) => event.sequence)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect(delivery.signals).toBe(1);
    delivery.bench.record(written, 'committed');
    const { drained, report } = await delivery.bench.deliverAndCheck();
    expect(drained.published).toBe(100);
    expect(report.orderViolations).toEqual([]);
  });

  it('refuses outbox(db), a finished transaction and an async callback (which better-sqlite3 rolls back); writes nothing', async () => {
    expect(() => outbox(setup.db as never)).toThrow(OutboxTransactionRequiredError);
    const finished = setup.db.transaction((tx) => tx);
    expect(() => outbox(finished)).toThrow(/already committed or rolled back/);
    const key = uniqueName('async');
    expect(() =>
      setup.db.transaction(async (tx) => {
        insert(tx, key);
        outbox(tx).add(placed(key));
      }),
    ).toThrow(/cannot return a promise/);
    expect(countOrders.sqlite(setup.db, key)).toBe(0);
    // Transactions without events commit without a wake-up.
    setup.db.transaction((tx) => void insert(tx, uniqueName('quiet')));
    expect(delivery.signals).toBe(0);
    expect(await pending()).toBe(0);
  });

  it('drizzleInbox refuses an in-memory database and transaction options, naming them', async () => {
    const memory = new Database(':memory:');
    try {
      const error = await drizzleInbox(drizzle({ client: memory })).catch((rejection: unknown) => rejection);
      expect(error).toBeInstanceOf(OutboxConfigError);
      expect(error).toMatchObject({ option: 'db' });
      expect((error as Error).message).toContain('in-memory');
    } finally {
      memory.close();
    }
    await expect(drizzleInbox(setup.db, { behavior: 'immediate' })).rejects.toMatchObject({ option: 'transactionConfig' });
  });
});
