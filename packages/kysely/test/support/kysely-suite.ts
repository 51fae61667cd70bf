import { OutboxConfigError, OutboxTransactionRequiredError, type EventInput, type WrittenEvent } from '@outboxkit/core';
import { uniqueName, useDeliveryHooks } from '@outboxkit/testkit';
import { CamelCasePlugin } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kyselyOutbox, withOutbox, type KyselyOutbox } from '../../src/index.js';
import { countOrders, type KyselyDatabaseKind, type KyselyTestDatabase } from './databases.js';

const placed = (key: string, n = 1): EventInput => ({ aggregateType: 'order', aggregateId: key, type: 'order.placed', payload: { key, n } });

/**
 * What only the Kysely plugin has, on one database, besides the conformance suite: its refusals
 * (at setup and at `outbox(trx)`), controlled transactions with savepoints, and plugins of the
 * Kysely instance left out of the outbox statements. End to end with the real relay and RabbitMQ.
 */
export function describeKyselyOutbox(kind: KyselyDatabaseKind): void {
  describe(`Kysely outbox on ${kind.name}: refusals, controlled transactions, plugins`, () => {
    let setup: KyselyTestDatabase;
    let outbox: KyselyOutbox;

    beforeAll(async () => {
      setup = await kind.setup();
      outbox = kyselyOutbox(setup.db, { dialect: setup.dialect });
    });

    afterAll(async () => {
      await setup?.dispose();
    });

    const delivery = useDeliveryHooks(() => setup);
    const { pending } = delivery;

    it("refuses at setup another database's dialect, unknown options, a transaction, an instance without withOutbox, naming the option", async () => {
      const mismatch = (() => {
        try {
          kyselyOutbox(setup.db, { dialect: setup.wrongDialect });
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(mismatch).toBeInstanceOf(OutboxConfigError);
      expect(mismatch).toMatchObject({ option: 'dialect' });
      expect((mismatch as Error).message).toContain(`the dialect is "${setup.wrongDialect.name}"`);
      expect(() => kyselyOutbox(setup.db, {} as never)).toThrow(/dialect: is required/);
      expect(() => kyselyOutbox(setup.db, { dialect: setup.dialect, notify: true } as never)).toThrow(/notify: unknown option/);
      expect(() => kyselyOutbox({} as never, { dialect: setup.dialect })).toThrow(/expects a Kysely instance/);
      await setup.db.transaction().execute(async (trx) => {
        expect(() => kyselyOutbox(trx, { dialect: setup.dialect })).toThrow(/not a transaction/);
      });
      expect(() => kyselyOutbox(setup.open({}, false), { dialect: setup.dialect })).toThrow(/withOutbox/);
      expect(() => withOutbox({} as never)).toThrow(OutboxConfigError);
    });

    it("outbox(db), of anything else or of another instance's transaction throws at once; a finished one rejects; nothing is written", async () => {
      expect(() => outbox(setup.db as never)).toThrow(OutboxTransactionRequiredError);
      expect(() => outbox(setup.db as never)).toThrow(/the Kysely instance, not a transaction/);
      expect(() => outbox({} as never)).toThrow(/not a Kysely transaction/);
      await setup
        .open()
        .transaction()
        .execute(async (trx) => {
          expect(() => outbox(trx)).toThrow(/belongs to another Kysely instance/);
        });
      const finished = await setup.db.transaction().execute(async (trx) => trx);
      await expect(outbox(finished).add(placed(uniqueName('late')))).rejects.toThrow(/already committed/);
      expect(delivery.signals).toBe(0);
    });

    it('controlled transactions: a rolled-back savepoint takes its row and events along, a released one commits with the transaction, one wake-up at commit', async () => {
      const [outer, inner, released] = [uniqueName('outer'), uniqueName('inner'), uniqueName('released')];
      const trx = await setup.db.startTransaction().execute();
      await trx.insertInto('orders').values({ number: outer, total: 1 }).execute();
      const own = await outbox(trx).add(placed(outer));
      const first = await trx.savepoint('first').execute();
      await first.insertInto('orders').values({ number: inner, total: 2 }).execute();
      const rolledBack = await outbox(first).add(placed(inner));
      const afterRollback = await first.rollbackToSavepoint('first').execute();
      const second = await afterRollback.savepoint('second').execute();
      const fromSavepoint = await outbox(second).add(placed(released));
      const afterRelease = await second.releaseSavepoint('second').execute();
      expect(delivery.signals).toBe(0);
      expect(await pending()).toBe(0);
      await afterRelease.commit().execute();
      expect(delivery.signals).toBe(1);
      delivery.bench.record([...own, ...fromSavepoint], 'committed');
      delivery.bench.record(rolledBack, 'rolled-back');
      expect(await Promise.all([outer, inner].map((key) => countOrders(setup.db, key)))).toEqual([1, 0]);
      expect(await pending()).toBe(2);
      await delivery.bench.deliverAndCheck();
      expect(delivery.bench.log.wasDelivered(rolledBack[0]!.id)).toBe(false);
    });

    it('a controlled transaction rolled back leaves no events and wakes nobody', async () => {
      const trx = await setup.db.startTransaction().execute();
      const lost = await outbox(trx).add([placed(uniqueName('ctl')), placed(uniqueName('ctl'))]);
      await trx.rollback().execute();
      expect(lost).toHaveLength(2);
      expect(delivery.signals).toBe(0);
      expect(await pending()).toBe(0);
    });

    it("the Kysely instance's plugins (CamelCasePlugin) do not reach the outbox statements", async () => {
      const camel = setup.open({ plugins: [new CamelCasePlugin()] });
      const camelOutbox = kyselyOutbox(camel, { dialect: setup.dialect });
      const key = uniqueName('camel');
      const written: WrittenEvent[] = await camel
        .transaction()
        .execute(async (trx) => [...(await camelOutbox(trx).add(placed(key, 1))), ...(await camelOutbox(trx).add(placed(key, 2)))]);
      expect(written.map((event) => event.sequence)).toEqual([1, 2]);
      delivery.bench.record(written, 'committed');
      expect((await delivery.bench.deliverAndCheck()).report.orderViolations).toEqual([]);
    });
  });
}
