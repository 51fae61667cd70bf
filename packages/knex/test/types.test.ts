import knexFactory, { type Knex } from 'knex';
import { afterAll, describe, expectTypeOf, it } from 'vitest';
import type { EventInput, WrittenEvent } from '@outboxkit/core';
import { createSqliteDialect } from '@outboxkit/sqlite';
import { createKnexOutbox, type KnexOutbox } from '../src/index.js';

type ShopEvents = {
  OrderPlaced: { orderId: string; total: number };
  OrderCancelled: { orderId: string; reason: string };
};

// An in-memory SQLite knex: type checks need an instance, not a server.
const knex = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
afterAll(() => knex.destroy());

describe('typed events (EventMap generic)', () => {
  const outbox = createKnexOutbox<ShopEvents>(knex, { dialect: createSqliteDialect() });

  it('types add() by event type and payload', () => {
    expectTypeOf(outbox).toEqualTypeOf<KnexOutbox<ShopEvents>>();
    expectTypeOf(outbox.add).parameter(0).toEqualTypeOf<Knex.Transaction>();
    expectTypeOf(outbox.add).parameter(1).toEqualTypeOf<EventInput<ShopEvents> | readonly EventInput<ShopEvents>[]>();
    expectTypeOf(outbox.add).returns.toEqualTypeOf<Promise<WrittenEvent[]>>();
    const trx = {} as Knex.Transaction;
    // Type-level only: these calls are never awaited against a database.
    const typed = () => outbox.add(trx, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', total: 5 } });
    expectTypeOf(typed).returns.toEqualTypeOf<Promise<WrittenEvent[]>>();
    const wrong = () => [
      // @ts-expect-error unknown event type
      outbox.add(trx, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderShipped', payload: {} }),
      // @ts-expect-error payload of another event type
      outbox.add(trx, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', reason: 'x' } }),
      // @ts-expect-error payload field of the wrong type
      outbox.add(trx, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderCancelled', payload: { orderId: 'o-1', reason: 3 } }),
      // @ts-expect-error the base knex instance is not a transaction
      outbox.add(knex, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', total: 5 } }),
    ];
    expectTypeOf(wrong).toBeFunction();
  });

  it('defaults to any event type with a JSON payload', () => {
    const untyped = createKnexOutbox(knex, { dialect: createSqliteDialect() });
    expectTypeOf(untyped).toEqualTypeOf<KnexOutbox>();
    expectTypeOf(untyped.add).toBeCallableWith({} as Knex.Transaction, [{ aggregateType: 'a', aggregateId: 1, type: 'anything', payload: { x: [1] } }]);
  });
});
