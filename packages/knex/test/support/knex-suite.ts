import knexFactory from 'knex';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OutboxTransactionRequiredError, type EventInput, type WrittenEvent } from '@outboxkit/core';
import { allCommittedDelivered, DeliveryBench, uniqueName } from '@outboxkit/testkit';
import { createKnexOutbox, type KnexOutbox, type KnexTransaction } from '../../src/index.js';
import { countRows, type KnexTarget, type KnexTestDatabase } from './databases.js';

/**
 * What only the Knex plugin has, end to end on one database: transactions committed by hand,
 * transaction providers, the refusals, with the real relay publishing to RabbitMQ and the
 * delivery checker judging what arrived. What every ORM plugin guarantees is in the ORM-adapter
 * conformance suite (see knex-adapter.ts).
 */
export function describeKnexOutbox(target: KnexTarget): void {
  describe(`@outboxkit/knex on ${target.name}`, () => {
    let db: KnexTestDatabase;
    let outbox: KnexOutbox;

    beforeAll(async () => {
      db = await target.setup();
      outbox = createKnexOutbox(db.knex, { dialect: db.dialect });
    });

    afterAll(async () => {
      await db?.dispose();
    });

    const bench = DeliveryBench.eachTest(() => ({ dialect: db.dialect, database: db.relayDatabase }));

    const pending = async () => Number(await db.dialect.countPending(db.relayDatabase));
    const placed = (id: string, total: number): EventInput => ({ aggregateType: 'order', aggregateId: id, type: 'order.placed', payload: { id, total } });
    /** A running relay that publishes only when woken (its poll interval outlasts the test), and the spy on its wake-ups. */
    const relayWakeSpy = async () => {
      const running = bench().relay({ pollIntervalMs: 600_000, wakeSources: undefined });
      const wake = vi.spyOn(running, 'wake');
      await running.start();
      return wake;
    };
    const record = (written: readonly WrittenEvent[], outcome: 'committed' | 'rolled-back') => bench().record(written, outcome);

    it('writes in a transaction committed by hand, and wakes the relay at that commit', async () => {
      const wake = await relayWakeSpy();
      const id = uniqueName('o');
      const trx = await db.knex.transaction();
      await trx('orders').insert({ id, total: 3 });
      const written = await outbox.add(trx, placed(id, 3));
      const savepoint = await trx.transaction();
      record([...written, ...(await outbox.add(savepoint, placed(id, 4)))], 'committed');
      await savepoint.commit();
      expect(wake).not.toHaveBeenCalled();
      await trx.commit();
      expect(wake).toHaveBeenCalledTimes(1);
      await bench().collector.waitFor(allCommittedDelivered, 60_000);
      expect(bench().log.check().lost).toEqual([]);
    });

    it('rolls back with trx.rollback(error): neither row nor event, no wake-up', async () => {
      const wake = await relayWakeSpy();
      const id = uniqueName('o');
      const trx = await db.knex.transaction();
      await trx('orders').insert({ id, total: 3 });
      record(await outbox.add(trx, placed(id, 3)), 'rolled-back');
      await trx.rollback(new Error('cancelled'));
      await expect(trx.executionPromise).rejects.toThrow('cancelled');
      expect(wake).not.toHaveBeenCalled();
      expect(await countRows(db.knex, 'orders', id)).toBe(0);
      expect(await pending()).toBe(0);
    });

    it('takes the transaction a transaction provider resolves to, not the provider', async () => {
      const provider = db.knex.transactionProvider();
      const id = uniqueName('o');
      await expect(outbox.add(provider as never, placed(id, 1))).rejects.toThrow(/transaction provider; call it/);
      const trx = await provider();
      const written = await outbox.add(trx, placed(id, 1));
      await trx.commit();
      record(written, 'committed');
      await bench().deliverAndCheck();
    });

    it('refuses the base instance, finished transactions, another knex instance and other values; writes nothing', async () => {
      const id = uniqueName('o');
      await expect(outbox.add(db.knex as unknown as KnexTransaction, placed(id, 1))).rejects.toThrow(/base knex instance.*knex\.transaction\(async \(trx\)/s);
      await expect(outbox.add({} as never, placed(id, 1))).rejects.toThrow(/no knex transaction/);
      await expect(outbox.add(null as never, placed(id, 1))).rejects.toBeInstanceOf(OutboxTransactionRequiredError);

      let kept: KnexTransaction | undefined;
      let keptSavepoint: KnexTransaction | undefined;
      await db.knex.transaction(async (trx) => {
        kept = trx;
        await trx.transaction(async (savepoint) => {
          keptSavepoint = savepoint;
        });
        // A released savepoint is finished too.
        await expect(outbox.add(keptSavepoint!, placed(id, 1))).rejects.toThrow(/already committed or rolled back/);
      });
      await expect(outbox.add(kept!, placed(id, 1))).rejects.toThrow(/already committed or rolled back/);
      const rolledBack = await db.knex.transaction();
      await rolledBack.rollback();
      await expect(outbox.add(rolledBack, placed(id, 1))).rejects.toThrow(/already committed or rolled back/);

      // Another knex instance on the same database is another pool: its commit would not carry the event.
      const other = knexFactory(db.config);
      try {
        await other.transaction(async (trx) => {
          await expect(outbox.add(trx, placed(id, 1))).rejects.toThrow(/another knex instance/);
        });
      } finally {
        await other.destroy();
      }
      expect(await pending()).toBe(0);
    });

    it('keeps per-aggregate sequence order for concurrent adds in one transaction and its savepoints', async () => {
      const id = uniqueName('o');
      const written = await db.knex.transaction(async (trx) => {
        const direct = Promise.all(Array.from({ length: 5 }, (_, i) => outbox.add(trx, { ...placed(id, i), type: `order.step${i}` })));
        const nested = trx.transaction((savepoint) =>
          Promise.all(Array.from({ length: 5 }, (_, i) => outbox.add(savepoint, { ...placed(id, i + 5), type: `order.step${i + 5}` }))),
        );
        return [...(await direct), ...(await nested)].flat();
      });
      expect(written.map((event) => event.sequence).sort((a, b) => a - b)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
      record(written, 'committed');
      const { report } = await bench().deliverAndCheck();
      expect(report.orderViolations).toEqual([]);
    });

    it('drops events of a savepoint rolled back with its error, keeps the outer ones', async () => {
      const [outer, inner] = [uniqueName('o'), uniqueName('o')];
      let dropped: WrittenEvent[] = [];
      const kept = await db.knex.transaction(async (trx) => {
        const own = await outbox.add(trx, placed(outer, 1));
        await expect(
          trx.transaction(async (savepoint) => {
            await savepoint('orders').insert({ id: inner, total: 1 });
            dropped = await outbox.add(savepoint, placed(inner, 1));
            throw new Error('inner fails');
          }),
        ).rejects.toThrow('inner fails');
        return own;
      });
      record(kept, 'committed');
      record(dropped, 'rolled-back');
      expect(await countRows(db.knex, 'orders', inner)).toBe(0);
      await bench().deliverAndCheck();
      expect(bench().log.wasDelivered(dropped[0]!.id)).toBe(false);
    });
  });
}
