import { randomUUID } from 'node:crypto';
import { DataTypes, Sequelize, type Model, type ModelStatic } from 'sequelize';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OutboxTransactionRequiredError, type EventInput, type WrittenEvent } from '@outboxkit/core';
import { DeliveryBench, uniqueName } from '@outboxkit/testkit';
import { asyncLocalStorageNamespace, createSequelizeOutbox, type SequelizeOutbox } from '../src/index.js';
import type { TestDatabase, TestTarget } from './support.js';

interface OrderAttributes {
  id: string;
  total: number;
  status: string;
}
type OrderModel = Model<OrderAttributes, OrderAttributes> & OrderAttributes;

/**
 * What only the Sequelize plugin has, end to end on one database: Sequelize writes the business
 * rows, the plugin writes the events on the same transaction, and the real relay publishes them
 * to RabbitMQ, where a collector records what arrived for the delivery checker. What every ORM
 * plugin guarantees (same transaction, rollback, savepoints, ordering, wake-ups, the inbox) is
 * in the ORM-adapter conformance suite (see sequelize-adapter.ts).
 */
export function describeSequelizeOutbox(target: TestTarget): void {
  describe(`@outboxkit/sequelize on ${target.name}`, () => {
    let db: TestDatabase;
    let outbox: SequelizeOutbox;
    let Order: ModelStatic<OrderModel>;
    let Line: ModelStatic<OrderModel>;
    let Plain: ModelStatic<OrderModel>;
    let bench: DeliveryBench;
    const cleanups: (() => void)[] = [];

    const attributes = {
      id: { type: DataTypes.STRING(64), primaryKey: true },
      total: { type: DataTypes.INTEGER, allowNull: false },
      status: { type: DataTypes.STRING(32), allowNull: false, defaultValue: 'new' },
    };

    beforeAll(async () => {
      db = await target.setup();
      const schema = db.modelSchema === undefined ? {} : { schema: db.modelSchema };
      Order = db.sequelize.define<OrderModel>('Order', attributes, { tableName: 'orders', timestamps: false, ...schema });
      Line = db.sequelize.define<OrderModel>('Line', attributes, { tableName: 'lines', timestamps: false, ...schema });
      Plain = db.sequelize.define<OrderModel>('Plain', attributes, { tableName: 'plain_orders', timestamps: false, ...schema });
      await db.sequelize.sync();
      outbox = createSequelizeOutbox(db.sequelize, { dialect: db.dialect });
    });

    afterAll(async () => {
      await db?.dispose();
    });

    beforeEach(async () => {
      bench = await DeliveryBench.open({ dialect: db.dialect, database: db.relayDatabase });
    });

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0)) cleanup();
      await bench.close();
      // Every test leaves the outbox empty, so the next one counts from zero.
      expect(await db.dialect.countPending(db.relayDatabase)).toBe(0);
    });

    /** Publishes everything pending with the real relay, then checks every committed event arrived and nothing else. */
    const relayAndCheck = () => bench.deliverAndCheck();
    const record = (written: readonly WrittenEvent[], outcome: 'committed' | 'rolled-back') => bench.record(written, outcome);

    const placed = (id: string, total: number): EventInput => ({
      aggregateType: 'order',
      aggregateId: id,
      type: 'order.placed',
      payload: { id, total },
    });

    const pending = () => db.dialect.countPending(db.relayDatabase);

    describe('outbox.add', () => {
      it('works with an unmanaged transaction committed by hand', async () => {
        const id = uniqueName('o');
        const transaction = await db.sequelize.transaction();
        await Order.create({ id, total: 3, status: 'new' }, { transaction });
        const written = await outbox.add(placed(id, 3), { transaction });
        await transaction.commit();
        record(written, 'committed');
        await relayAndCheck();
      });

      it('refuses a missing, null, finished or foreign transaction, and writes nothing', async () => {
        const id = uniqueName('o');
        await expect(outbox.add(placed(id, 1))).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
        await expect(outbox.add(placed(id, 1), {})).rejects.toThrow(/without a transaction.*sequelize\.transaction\(async \(transaction\)/s);
        await expect(outbox.add(placed(id, 1), { transaction: null })).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
        await expect(outbox.add(placed(id, 1), { transaction: {} as never })).rejects.toThrow(/not a Sequelize transaction/);

        const committed = await db.sequelize.transaction();
        await committed.commit();
        await expect(outbox.add(placed(id, 1), { transaction: committed })).rejects.toThrow(/already finished \(commit\)/);
        const rolledBack = await db.sequelize.transaction();
        await rolledBack.rollback();
        await expect(outbox.add(placed(id, 1), { transaction: rolledBack })).rejects.toThrow(/already finished \(rollback\)/);

        // A transaction of another Sequelize instance is another connection: its commit would not carry the event.
        const other = new Sequelize({ dialect: 'sqlite', storage: ':memory:', logging: false });
        try {
          const foreign = await other.transaction();
          await expect(outbox.add(placed(id, 1), { transaction: foreign })).rejects.toThrow(/another Sequelize instance/);
          await foreign.rollback();
        } finally {
          await other.close();
        }
        expect(await pending()).toBe(0);
      });

      it('keeps per-aggregate sequence order for concurrent adds on one transaction', async () => {
        const id = uniqueName('o');
        const written = await db.sequelize.transaction(async (transaction) =>
          (await Promise.all(Array.from({ length: 10 }, (_, i) => outbox.add({ ...placed(id, i), type: `order.step${i}` }, { transaction })))).flat(),
        );
        record(written, 'committed');
        await relayAndCheck();
        // Sequence order equals arrival order for the aggregate (the checker's order rule).
        expect(bench.log.check().orderViolations).toEqual([]);
      });
    });

    describe('model hooks', () => {
      const written: { id: string; aggregateId: string }[] = [];
      const event = (type: string, order: OrderModel): EventInput => {
        const id = randomUUID();
        written.push({ id, aggregateId: order.id });
        return { id, aggregateType: 'order', aggregateId: order.id, type, payload: { id: order.id, total: order.total, status: order.status } };
      };
      /** Records the hook events written since the last call with the transaction's outcome. */
      const settle = (outcome: 'committed' | 'rolled-back') => {
        bench.record(
          written.splice(0).map(({ id, aggregateId }) => ({ id, aggregateType: 'order', aggregateId })),
          outcome,
        );
      };

      beforeAll(() => {
        outbox.hooks(Order, {
          afterCreate: (order) => event('order.created', order),
          afterUpdate: (order) => event('order.updated', order),
          afterDestroy: (order) => event('order.destroyed', order),
          afterUpsert: (order, created) => event(created === false ? 'order.upserted.updated' : 'order.upserted', order),
        });
        outbox.hooks(Line, {
          afterCreate: (line) => event('line.created', line),
          bulk: {
            afterBulkCreate: (lines) => ({ ...event('lines.created', lines[0]!), payload: { count: lines.length } }),
            afterBulkUpdate: (options) => ({ ...event('lines.updated', { id: 'lines' } as OrderModel), payload: { where: JSON.stringify(options.where) } }),
          },
        });
      });

      it('emits create, update and destroy events in the caller transaction', async () => {
        const id = uniqueName('o');
        await db.sequelize.transaction(async (transaction) => {
          const order = await Order.create({ id, total: 5, status: 'new' }, { transaction });
          await order.update({ status: 'paid' }, { transaction });
          expect(await pending()).toBe(0);
        });
        await db.sequelize.transaction(async (transaction) => {
          const order = await Order.findByPk(id, { transaction });
          await order!.destroy({ transaction });
        });
        expect(written).toHaveLength(3);
        settle('committed');
        await relayAndCheck();
        expect(bench.collector.messages.map((message) => message.type)).toEqual(['order.created', 'order.updated', 'order.destroyed']);
      });

      it('rolls hook events back with the business change', async () => {
        const id = uniqueName('o');
        await expect(
          db.sequelize.transaction(async (transaction) => {
            await Order.create({ id, total: 5, status: 'new' }, { transaction });
            throw new Error('roll back');
          }),
        ).rejects.toThrow('roll back');
        expect(written).toHaveLength(1);
        settle('rolled-back');
        expect(await Order.count({ where: { id } })).toBe(0);
        expect(await pending()).toBe(0);
      });

      it('rejects every write to a hooked model without a transaction, before anything is written', async () => {
        const id = uniqueName('o');
        const before = await Order.count();
        await expect(Order.create({ id, total: 1, status: 'new' })).rejects.toThrow(OutboxTransactionRequiredError);
        await expect(Order.create({ id, total: 1, status: 'new' })).rejects.toThrow(/writing Order .*without a transaction/s);
        await expect(Order.create({ id, total: 1, status: 'new' }, { transaction: null })).rejects.toThrow(OutboxTransactionRequiredError);
        await expect(Order.bulkCreate([{ id, total: 1, status: 'new' }])).rejects.toThrow(OutboxTransactionRequiredError);
        await expect(Order.upsert({ id, total: 1, status: 'new' })).rejects.toThrow(OutboxTransactionRequiredError);
        expect(await Order.count()).toBe(before);

        // Existing rows: update and destroy, single and bulk, are refused too.
        await db.sequelize.transaction(async (transaction) => Order.create({ id, total: 1, status: 'new' }, { transaction }));
        const order = (await Order.findByPk(id))!;
        await expect(order.update({ status: 'paid' })).rejects.toThrow(OutboxTransactionRequiredError);
        await expect(order.destroy()).rejects.toThrow(OutboxTransactionRequiredError);
        await expect(Order.update({ status: 'paid' }, { where: { id } })).rejects.toThrow(OutboxTransactionRequiredError);
        await expect(Order.destroy({ where: { id } })).rejects.toThrow(OutboxTransactionRequiredError);
        const finished = await db.sequelize.transaction();
        await finished.commit();
        await expect(Order.update({ status: 'paid' }, { where: { id }, transaction: finished })).rejects.toThrow(/already finished/);
        expect((await Order.findByPk(id))!.status).toBe('new');
        expect(await Order.count()).toBe(before + 1);
        // Only the create in a transaction emitted an event.
        expect(written).toHaveLength(1);
        settle('committed');
        await relayAndCheck();
        // A model without outbox hooks is untouched by the guards.
        await Plain.create({ id, total: 1, status: 'new' });
        expect(await Plain.count({ where: { id } })).toBe(1);
      });

      it("emits one event per row for bulk statements by default ('per-row')", async () => {
        const ids = [uniqueName('b'), uniqueName('b'), uniqueName('b')];
        await db.sequelize.transaction(async (transaction) => {
          await Order.bulkCreate(
            ids.map((id, i) => ({ id, total: i, status: 'new' })),
            { transaction },
          );
          await Order.update({ status: 'shipped' }, { where: { id: ids }, transaction });
          await Order.destroy({ where: { id: ids.slice(0, 2) }, transaction });
        });
        expect(written).toHaveLength(3 + 3 + 2);
        settle('committed');
        await relayAndCheck();
        const types = bench.collector.messages.map((message) => message.type);
        expect(types.filter((type) => type === 'order.created')).toHaveLength(3);
        expect(types.filter((type) => type === 'order.updated')).toHaveLength(3);
        expect(types.filter((type) => type === 'order.destroyed')).toHaveLength(2);
        expect(await Order.count({ where: { id: ids } })).toBe(1);
      });

      it('emits the same per-row events when the caller asks for individualHooks', async () => {
        const ids = [uniqueName('i'), uniqueName('i')];
        await db.sequelize.transaction(async (transaction) => {
          await Order.bulkCreate(
            ids.map((id) => ({ id, total: 1, status: 'new' })),
            { transaction, individualHooks: true },
          );
          await Order.destroy({ where: { id: ids }, transaction, individualHooks: true });
        });
        // Neither doubled (afterBulkCreate skips rows that had individual hooks) nor missing.
        expect(written).toHaveLength(4);
        settle('committed');
        await relayAndCheck();
      });

      it('emits one event per statement with statement mappers', async () => {
        const ids = [uniqueName('l'), uniqueName('l'), uniqueName('l')];
        await db.sequelize.transaction(async (transaction) => {
          await Line.bulkCreate(
            ids.map((id) => ({ id, total: 1, status: 'new' })),
            { transaction },
          );
          await Line.update({ status: 'packed' }, { where: { id: ids }, transaction, individualHooks: true });
          // No afterBulkDestroy mapper: emits nothing, but still needs the transaction.
          await Line.destroy({ where: { id: ids[0] }, transaction });
          // A single create is not a bulk statement: its per-row mapper runs.
          await Line.create({ id: uniqueName('l'), total: 2, status: 'new' }, { transaction });
        });
        await expect(Line.destroy({ where: { id: ids[1] } })).rejects.toThrow(OutboxTransactionRequiredError);
        expect(written).toHaveLength(3);
        settle('committed');
        await relayAndCheck();
        // Three aggregates: no order between them is promised.
        expect(bench.collector.messages.map((message) => message.type).sort()).toEqual(['line.created', 'lines.created', 'lines.updated']);
      });

      it('emits upsert events', async () => {
        const id = uniqueName('u');
        await db.sequelize.transaction(async (transaction) => {
          await Order.upsert({ id, total: 1, status: 'new' }, { transaction });
          await Order.upsert({ id, total: 2, status: 'new' }, { transaction });
        });
        expect(written).toHaveLength(2);
        settle('committed');
        await relayAndCheck();
        expect((await Order.findByPk(id))!.total).toBe(2);
      });

      it('lets findOrCreate without a transaction write in the internal transaction it opens (row and event together)', async () => {
        const id = uniqueName('f');
        const [, created] = await Order.findOrCreate({ where: { id }, defaults: { id, total: 6, status: 'new' } });
        expect(created).toBe(true);
        expect(written).toHaveLength(1);
        settle('committed');
        expect(await Order.count({ where: { id } })).toBe(1);
        await relayAndCheck();
      });

      it('is bypassed by { hooks: false } (documented in docs/sequelize.md)', async () => {
        const id = uniqueName('h');
        await Order.create({ id, total: 1, status: 'new' }, { hooks: false });
        expect(await Order.count({ where: { id } })).toBe(1);
        expect(written).toHaveLength(0);
        expect(await pending()).toBe(0);
      });
    });

    describe('CLS-managed transactions (Sequelize.useCLS with AsyncLocalStorage)', () => {
      beforeAll(() => {
        Sequelize.useCLS(asyncLocalStorageNamespace());
      });
      afterAll(() => {
        delete (Sequelize as unknown as { _cls?: unknown })._cls;
      });

      it('joins the managed transaction without { transaction }, for add and for hooks', async () => {
        const id = uniqueName('c');
        let written: WrittenEvent[] = [];
        let hookEvents = 0;
        const remove = outbox.hooks(Plain, {
          afterCreate: () => {
            hookEvents++;
            return placed(id, 1);
          },
        });
        cleanups.push(remove);
        await db.sequelize.transaction(async () => {
          await Order.create({ id, total: 4, status: 'new' });
          await Plain.create({ id, total: 4, status: 'new' });
          written = await outbox.add(placed(id, 4));
          expect(await pending()).toBe(0);
        });
        expect(hookEvents).toBe(1);
        // Order's hook event, Plain's hook event and the explicit one.
        expect(await pending()).toBe(3);
        record(written, 'committed');
        // The hook events of Order and Plain: ids not known here, so read them back for the log.
        const rows = await db.dialect.claim(
          db.relayDatabase,
          Array.from({ length: 64 }, (_, i) => i),
          100,
        );
        bench.record(
          rows.filter((row) => !written.some((event) => event.id === row.id)),
          'committed',
        );
        await relayAndCheck();
        expect(bench.log.check().committed).toBe(3);
      });

      it('rolls CLS-joined writes back with the transaction', async () => {
        const id = uniqueName('c');
        await expect(
          db.sequelize.transaction(async () => {
            await Order.create({ id, total: 4, status: 'new' });
            record(await outbox.add(placed(id, 4)), 'rolled-back');
            throw new Error('roll back');
          }),
        ).rejects.toThrow('roll back');
        expect(await Order.count({ where: { id } })).toBe(0);
        expect(await pending()).toBe(0);
      });

      it('still refuses writes outside any transaction', async () => {
        await expect(outbox.add(placed(uniqueName('c'), 1))).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
        await expect(Order.create({ id: uniqueName('c'), total: 1, status: 'new' })).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
      });
    });
  });
}
