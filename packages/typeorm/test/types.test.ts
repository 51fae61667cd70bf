import { DataSource, type EntityManager, type QueryRunner } from 'typeorm';
import { describe, expectTypeOf, it } from 'vitest';
import type { EventInput, WrittenEvent } from '@outboxkit/core';
import { createSqliteDialect } from '@outboxkit/sqlite';
import { createTypeormOutbox, type EntityOutboxMappers, type TypeormOutbox } from '../src/index.js';
import { Order, type OrderRow } from './support/databases.js';

type ShopEvents = {
  OrderPlaced: { orderId: string; total: number };
  OrderCancelled: { orderId: string; reason: string };
};

// Never initialized: type checks need an instance, not a database.
const dataSource = new DataSource({ type: 'better-sqlite3', database: ':memory:' });

describe('typed events (EventMap generic)', () => {
  const outbox = createTypeormOutbox<ShopEvents>(dataSource, { dialect: createSqliteDialect() });

  it('types add() by event type and payload', () => {
    expectTypeOf(outbox).toEqualTypeOf<TypeormOutbox<ShopEvents>>();
    expectTypeOf(outbox.add).parameter(0).toEqualTypeOf<EntityManager | QueryRunner>();
    expectTypeOf(outbox.add).parameter(1).toEqualTypeOf<EventInput<ShopEvents> | readonly EventInput<ShopEvents>[]>();
    expectTypeOf(outbox.add).returns.toEqualTypeOf<Promise<WrittenEvent[]>>();
    const manager = {} as EntityManager;
    // Type-level only: these calls are never awaited against a database.
    const typed = () => outbox.add(manager, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', total: 5 } });
    expectTypeOf(typed).returns.toEqualTypeOf<Promise<WrittenEvent[]>>();
    const wrong = () => [
      // @ts-expect-error unknown event type
      outbox.add(manager, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderShipped', payload: {} }),
      // @ts-expect-error payload of another event type
      outbox.add(manager, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', reason: 'x' } }),
      // @ts-expect-error payload field of the wrong type
      outbox.add(manager, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderCancelled', payload: { orderId: 'o-1', reason: 3 } }),
      // @ts-expect-error the first argument must be an EntityManager or a QueryRunner
      outbox.add('manager', { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', total: 5 } }),
    ];
    expectTypeOf(wrong).toBeFunction();
  });

  it('types subscriber mappers by entity and event map', () => {
    const mappers: EntityOutboxMappers<OrderRow, ShopEvents> = {
      afterInsert: ({ entity }) => {
        expectTypeOf(entity).toEqualTypeOf<OrderRow>();
        return { aggregateType: 'order', aggregateId: entity.id, type: 'OrderPlaced', payload: { orderId: entity.id, total: entity.total } };
      },
      afterRemove: ({ databaseEntity }) => [
        { aggregateType: 'order', aggregateId: databaseEntity.id, type: 'OrderCancelled', payload: { orderId: databaseEntity.id, reason: 'removed' } },
      ],
      afterUpdate: () => null,
    };
    const register = () => outbox.subscribe(Order, mappers);
    expectTypeOf(register).returns.toEqualTypeOf<() => void>();
    const bad: EntityOutboxMappers<OrderRow, ShopEvents> = {
      // @ts-expect-error a mapper must return events of the map
      afterInsert: ({ entity }) => ({ aggregateType: 'order', aggregateId: entity.id, type: 'OrderRenamed', payload: {} }),
    };
    expectTypeOf(bad).toBeObject();
  });

  it('defaults to any event type with a JSON payload', () => {
    const untyped = createTypeormOutbox(dataSource, { dialect: createSqliteDialect() });
    expectTypeOf(untyped).toEqualTypeOf<TypeormOutbox>();
    expectTypeOf(untyped.add).toBeCallableWith({} as EntityManager, { aggregateType: 'a', aggregateId: 1, type: 'anything', payload: { x: [1] } });
  });
});
