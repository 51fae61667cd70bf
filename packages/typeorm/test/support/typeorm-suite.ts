import { randomUUID } from 'node:crypto';
import { DataSource, type EntityManager } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxConfigError, OutboxTransactionRequiredError, type EventInput, type WrittenEvent } from '@outboxkit/core';
import { DeliveryBench, uniqueName } from '@outboxkit/testkit';
import { createTypeormOutbox, type TypeormOutbox } from '../../src/index.js';
import { Order, PlainOrder, type OrderRow, type TypeormTarget, type TypeormTestDatabase } from './databases.js';

/**
 * What only the TypeORM plugin has, end to end on one database: QueryRunner-held transactions,
 * the refusals, and the entity subscriber, with the real relay publishing to RabbitMQ and the
 * delivery checker judging what arrived. What every ORM plugin guarantees is in the ORM-adapter
 * conformance suite (see typeorm-adapter.ts).
 */
export function describeTypeormOutbox(target: TypeormTarget): void {
  describe(`@outboxkit/typeorm on ${target.name}`, () => {
    let db: TypeormTestDatabase;
    let outbox: TypeormOutbox;

    beforeAll(async () => {
      db = await target.setup();
      outbox = createTypeormOutbox(db.dataSource, { dialect: db.dialect });
    });

    afterAll(async () => {
      await db?.dispose();
    });

    const bench = DeliveryBench.eachTest(() => ({ dialect: db.dialect, database: db.relayDatabase }));

    const pending = async () => Number(await db.dialect.countPending(db.relayDatabase));
    const placed = (id: string, total: number): EventInput => ({ aggregateType: 'order', aggregateId: id, type: 'order.placed', payload: { id, total } });
    const record = (written: readonly WrittenEvent[], outcome: 'committed' | 'rolled-back') => bench().record(written, outcome);

    describe('outbox.add', () => {
      it('writes on a QueryRunner whose transaction the caller opened and committed by hand', async () => {
        const id = uniqueName('o');
        const queryRunner = db.dataSource.createQueryRunner();
        try {
          await queryRunner.startTransaction();
          await queryRunner.manager.insert(Order, { id, total: 3 });
          const written = await outbox.add(queryRunner, placed(id, 3));
          expect(await pending()).toBe(0);
          await queryRunner.commitTransaction();
          record(written, 'committed');
          // Committed: the runner holds no transaction any more.
          await expect(outbox.add(queryRunner, placed(id, 4))).rejects.toThrow(/no open transaction/);
        } finally {
          await queryRunner.release();
        }
        await bench().deliverAndCheck();
      });

      it('refuses a manager without a transaction, a finished one, one of another DataSource, and other values; writes nothing', async () => {
        const id = uniqueName('o');
        await expect(outbox.add(db.dataSource.manager, placed(id, 1))).rejects.toThrow(
          /not bound to a transaction.*dataSource\.transaction\(async \(manager\)/s,
        );
        await expect(outbox.add(db.dataSource.createEntityManager(), placed(id, 1))).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
        await expect(outbox.add({} as never, placed(id, 1))).rejects.toThrow(/neither an EntityManager nor a QueryRunner/);
        await expect(outbox.add(null as never, placed(id, 1))).rejects.toBeInstanceOf(OutboxTransactionRequiredError);

        // A manager kept past its transaction: the event would be written apart from the change.
        let kept: EntityManager | undefined;
        await db.dataSource.transaction(async (manager) => {
          kept = manager;
        });
        await expect(outbox.add(kept!, placed(id, 1))).rejects.toThrow(/no open transaction/);
        // A QueryRunner that never started one.
        const idle = db.dataSource.createQueryRunner();
        await expect(outbox.add(idle, placed(id, 1))).rejects.toThrow(/no open transaction/);
        await idle.release();

        // Another DataSource on the same database is another connection: its commit would not carry the event.
        const other = await new DataSource({ ...db.options, logging: false }).initialize();
        try {
          await other.transaction(async (manager) => {
            await expect(outbox.add(manager, placed(id, 1))).rejects.toThrow(/another DataSource/);
          });
        } finally {
          await other.destroy();
        }
        expect(await pending()).toBe(0);
      });

      it('keeps per-aggregate sequence order for concurrent adds in one transaction', async () => {
        const id = uniqueName('o');
        const written = await db.dataSource.transaction(async (manager) =>
          (await Promise.all(Array.from({ length: 10 }, (_, i) => outbox.add(manager, { ...placed(id, i), type: `order.step${i}` })))).flat(),
        );
        expect(written.map((event) => event.sequence)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
        record(written, 'committed');
        const { report } = await bench().deliverAndCheck();
        expect(report.orderViolations).toEqual([]);
      });
    });

    describe('entity subscriber', () => {
      const emitted: { id: string; aggregateId: string }[] = [];
      const event = (type: string, aggregateId: string, payload: Record<string, unknown>): EventInput => {
        const id = randomUUID();
        emitted.push({ id, aggregateId });
        return { id, aggregateType: 'order', aggregateId, type, payload };
      };
      /** Records the subscriber events written since the last call with their transaction's outcome. */
      const settle = (outcome: 'committed' | 'rolled-back') => {
        bench().record(
          emitted.splice(0).map(({ id, aggregateId }) => ({ id, aggregateType: 'order', aggregateId })),
          outcome,
        );
      };
      let unsubscribe: () => void;

      beforeAll(() => {
        unsubscribe = outbox.subscribe<OrderRow>(Order, {
          afterInsert: ({ entity }) => (entity.total < 0 ? failMapper() : event('order.created', entity.id, { total: entity.total })),
          afterUpdate: ({ entity, databaseEntity }) =>
            // A loaded entity's save() has both; a query-builder update knows only the values set.
            databaseEntity === undefined ? null : event('order.updated', databaseEntity.id, { status: entity!.status }),
          afterRemove: ({ entityId, databaseEntity }) => event('order.removed', String(databaseEntity?.id ?? entityId?.id), {}),
          afterSoftRemove: ({ entity }) => event('order.soft-removed', entity!.id, {}),
        });
      });

      afterAll(() => unsubscribe?.());

      it('emits insert, update, remove and soft-remove events in the transaction TypeORM opens for save()', async () => {
        const [id, soft] = [uniqueName('o'), uniqueName('o')];
        const repository = db.dataSource.getRepository(Order);
        const order = await repository.save({ id, total: 5, status: 'new' });
        expect(await pending()).toBe(1);
        order.status = 'paid';
        await repository.save(order);
        await repository.remove(await repository.findOneByOrFail({ id }));
        await repository.save({ id: soft, total: 1, status: 'new' });
        await repository.softRemove(await repository.findOneByOrFail({ id: soft }));
        expect(emitted).toHaveLength(5);
        const idsOf = (aggregateId: string) => new Set(emitted.filter((e) => e.aggregateId === aggregateId).map((e) => e.id));
        const [ofId, ofSoft] = [idsOf(id), idsOf(soft)];
        settle('committed');
        await bench().deliverAndCheck();
        const typesOf = (ids: Set<string>) =>
          bench()
            .collector.messages.filter((m) => ids.has(String(m.messageId)))
            .map((m) => m.type);
        expect(typesOf(ofId)).toEqual(['order.created', 'order.updated', 'order.removed']);
        expect(typesOf(ofSoft)).toEqual(['order.created', 'order.soft-removed']);
      });

      it('writes in the caller transaction, and rolls the events back with it', async () => {
        const [kept, dropped] = [uniqueName('o'), uniqueName('o')];
        await db.dataSource.transaction(async (manager) => {
          await manager.save(Order, [
            { id: kept, total: 1 },
            { id: `${kept}-2`, total: 2 },
          ]);
          expect(emitted).toHaveLength(2);
          expect(await pending()).toBe(0);
        });
        settle('committed');
        await expect(
          db.dataSource.transaction(async (manager) => {
            await manager.save(Order, { id: dropped, total: 1 });
            throw new Error('roll back');
          }),
        ).rejects.toThrow('roll back');
        expect(emitted).toHaveLength(1);
        settle('rolled-back');
        expect(await db.dataSource.manager.countBy(Order, { id: dropped })).toBe(0);
        await bench().deliverAndCheck();
        expect(await db.dataSource.manager.countBy(Order, { id: kept })).toBe(1);
      });

      it('fails the save, and rolls its row back, when a mapper throws', async () => {
        const id = uniqueName('o');
        await expect(db.dataSource.getRepository(Order).save({ id, total: -1 })).rejects.toThrow('mapper failed');
        expect(await db.dataSource.manager.countBy(Order, { id })).toBe(0);
        expect(await pending()).toBe(0);
      });

      it('refuses a write that TypeORM runs without a transaction before the row is written; entities without mappers are untouched', async () => {
        const id = uniqueName('o');
        const repository = db.dataSource.getRepository(Order);
        await expect(repository.insert({ id, total: 1 })).rejects.toThrow(OutboxTransactionRequiredError);
        await expect(repository.insert({ id, total: 1 })).rejects.toThrow(/Order has outbox mappers.*without a transaction/s);
        await expect(repository.save({ id, total: 1 }, { transaction: false })).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
        expect(await repository.countBy({ id })).toBe(0);

        await repository.save({ id, total: 1 });
        await expect(repository.update({ id }, { status: 'paid' })).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
        await expect(repository.delete({ id })).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
        expect(await repository.findOneByOrFail({ id })).toMatchObject({ status: 'new' });
        // The same statements inside a transaction pass.
        await db.dataSource.transaction(async (manager) => {
          await manager.update(Order, { id }, { status: 'paid' });
        });
        expect(await repository.findOneByOrFail({ id })).toMatchObject({ status: 'paid' });
        settle('committed');
        await bench().deliverAndCheck();

        await db.dataSource.getRepository(PlainOrder).insert({ id, total: 1 });
        expect(await db.dataSource.manager.countBy(PlainOrder, { id })).toBe(1);
      });
    });

    describe('subscribe()', () => {
      it('refuses a second registration for an entity and unknown mappers; the remover stops the events', async () => {
        const second = createTypeormOutbox(db.dataSource, { dialect: db.dialect });
        const ids: string[] = [];
        const remove = second.subscribe(PlainOrder, {
          afterInsert: ({ entity }) => {
            ids.push(randomUUID());
            return { ...placed(entity.id, entity.total), id: ids.at(-1)! };
          },
        });
        expect(() => second.subscribe(PlainOrder, {})).toThrow(/already registered for PlainOrder/);
        expect(() => second.subscribe(Order, { afterCreate: () => null } as never)).toThrow(OutboxConfigError);
        expect(() => second.subscribe(Order, { afterInsert: 'event' } as never)).toThrow(/mappers\.afterInsert.*must be a function/s);
        const id = uniqueName('p');
        await db.dataSource.getRepository(PlainOrder).save({ id, total: 2 });
        expect(ids).toHaveLength(1);
        bench().record(
          ids.map((eventId) => ({ id: eventId, aggregateType: 'order', aggregateId: id })),
          'committed',
        );
        await bench().deliverAndCheck();

        remove();
        await db.dataSource.getRepository(PlainOrder).save({ id: `${id}-after`, total: 2 });
        expect(ids).toHaveLength(1);
        expect(await pending()).toBe(0);
        // Removed: the entity can be subscribed again.
        second.subscribe(PlainOrder, {})();
      });
    });
  });
}

function failMapper(): never {
  throw new Error('mapper failed');
}
