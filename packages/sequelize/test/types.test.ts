import { DataTypes, Sequelize, type Model, type ModelStatic } from 'sequelize';
import { afterAll, describe, expectTypeOf, it } from 'vitest';
import type { EventInput, JsonValue, WrittenEvent } from '@outboxkit/core';
import { createSqliteDialect } from '@outboxkit/sqlite';
import { createSequelizeOutbox, type ModelOutboxHooks, type SequelizeOutbox } from '../src/index.js';

type ShopEvents = {
  OrderPlaced: { orderId: string; total: number };
  OrderCancelled: { orderId: string; reason: string };
};

interface OrderAttributes {
  id: string;
  total: number;
}
type OrderModel = Model<OrderAttributes, OrderAttributes> & OrderAttributes;

// An in-memory SQLite Sequelize: type checks need an instance, not a server.
const sequelize = new Sequelize({ dialect: 'sqlite', storage: ':memory:', logging: false });
afterAll(() => sequelize.close());

describe('typed events (EventMap generic)', () => {
  const outbox = createSequelizeOutbox<ShopEvents>(sequelize, { dialect: createSqliteDialect() });
  const Order: ModelStatic<OrderModel> = sequelize.define<OrderModel>('Order', { id: { type: DataTypes.STRING, primaryKey: true }, total: DataTypes.INTEGER });

  it('types add() by event type and payload', () => {
    expectTypeOf(outbox).toEqualTypeOf<SequelizeOutbox<ShopEvents>>();
    expectTypeOf(outbox.add).parameter(0).toEqualTypeOf<EventInput<ShopEvents> | readonly EventInput<ShopEvents>[]>();
    expectTypeOf(outbox.add).returns.toEqualTypeOf<Promise<WrittenEvent<ShopEvents>[]>>();
    const transaction = {} as never;
    // Type-level only: these calls are never awaited against a database.
    const typed = () => outbox.add({ aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', total: 5 } }, { transaction });
    expectTypeOf(typed).returns.toEqualTypeOf<Promise<WrittenEvent<ShopEvents>[]>>();
    const narrowed = async () => {
      const [event] = await typed();
      // `type` narrows `payload`, with no cast.
      if (event?.type === 'OrderCancelled') expectTypeOf(event.payload.reason).toEqualTypeOf<string>();
      expectTypeOf(event!.type).toEqualTypeOf<'OrderPlaced' | 'OrderCancelled'>();
    };
    expectTypeOf(narrowed).toBeFunction();
    const wrong = () => [
      // @ts-expect-error unknown event type
      outbox.add({ aggregateType: 'order', aggregateId: 'o-1', type: 'OrderShipped', payload: {} }, { transaction }),
      // @ts-expect-error payload of another event type
      outbox.add({ aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', reason: 'x' } }, { transaction }),
      // @ts-expect-error payload field of the wrong type
      outbox.add({ aggregateType: 'order', aggregateId: 'o-1', type: 'OrderCancelled', payload: { orderId: 'o-1', reason: 3 } }, { transaction }),
      // @ts-expect-error transaction must be a Sequelize transaction
      outbox.add({ aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', total: 5 } }, { transaction: 'tx' }),
    ];
    expectTypeOf(wrong).toBeFunction();
  });

  it('types hook mappers by model instance and event map', () => {
    const mappers: ModelOutboxHooks<OrderModel, ShopEvents> = {
      afterCreate: (order) => {
        expectTypeOf(order).toEqualTypeOf<OrderModel>();
        return { aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload: { orderId: order.id, total: order.total } };
      },
      afterDestroy: () => null,
      bulk: {
        afterBulkCreate: (orders) =>
          orders.map((order) => ({
            aggregateType: 'order',
            aggregateId: order.id,
            type: 'OrderPlaced' as const,
            payload: { orderId: order.id, total: order.total },
          })),
      },
    };
    const register = () => outbox.hooks(Order, mappers);
    expectTypeOf(register).returns.toEqualTypeOf<() => void>();
    const bad: ModelOutboxHooks<OrderModel, ShopEvents> = {
      // @ts-expect-error a mapper must return events of the map
      afterUpdate: (order) => ({ aggregateType: 'order', aggregateId: order.id, type: 'OrderRenamed', payload: {} }),
    };
    expectTypeOf(bad).toBeObject();
  });

  it('defaults to any event type with a JSON payload', () => {
    const untyped = createSequelizeOutbox(sequelize, { dialect: createSqliteDialect() });
    expectTypeOf(untyped).toEqualTypeOf<SequelizeOutbox>();
    expectTypeOf(untyped.add).toBeCallableWith({ aggregateType: 'a', aggregateId: 1, type: 'anything', payload: { x: [1] } }, {});
    expectTypeOf(untyped.add).returns.toEqualTypeOf<Promise<WrittenEvent[]>>();
    expectTypeOf<WrittenEvent['payload']>().toEqualTypeOf<JsonValue>();
  });
});
