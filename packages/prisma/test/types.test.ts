import type { EventInput, JsonValue, WrittenEvent } from '@outboxkit/core';
import { createSqliteDialect } from '@outboxkit/sqlite';
import { describe, expectTypeOf, it } from 'vitest';
import { outbox } from '../src/index.js';
import type { TestPrismaClient } from './support/test-clients.js';

type Events = {
  OrderPlaced: { orderId: number; total: number };
  OrderCancelled: { orderId: number; reason: string };
};

// Type-level only: checked by `tsc -p tsconfig.test.json`, where every @ts-expect-error must
// find an error. The functions are never called, so no database is needed.
declare const base: TestPrismaClient;
const dialect = createSqliteDialect();

describe('typed events through outbox<Events>()', () => {
  it('$outbox on the transaction client returns the event of the map, one or a list', () => {
    const write = async (prisma = base.$extends(outbox<Events>({ dialect }))) =>
      prisma.$transaction(async (tx) => {
        const one = await tx.$outbox({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, total: 5 } });
        expectTypeOf(one).toEqualTypeOf<WrittenEvent<Events>>();
        expectTypeOf(one.type).toEqualTypeOf<'OrderPlaced' | 'OrderCancelled'>();
        expectTypeOf(one.sequence).toEqualTypeOf<number>();
        // `type` narrows `payload`, with no cast.
        if (one.type === 'OrderCancelled') expectTypeOf(one.payload).toEqualTypeOf<{ orderId: number; reason: string }>();
        const many = await tx.$outbox([
          { aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, total: 5 } },
          { aggregateType: 'order', aggregateId: 1, type: 'OrderCancelled', payload: { orderId: 1, reason: 'late' } },
        ]);
        expectTypeOf(many).toEqualTypeOf<WrittenEvent<Events>[]>();
        // The models and Prisma's own methods keep their types next to $outbox.
        expectTypeOf(tx.order.create).toBeFunction();

        // @ts-expect-error a payload of the wrong shape for its type
        await tx.$outbox({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, reason: 'late' } });
        // @ts-expect-error a wrong payload field type
        await tx.$outbox({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: '1', total: 5 } });
        // @ts-expect-error an event type not in the map
        await tx.$outbox({ aggregateType: 'order', aggregateId: 1, type: 'OrderShipped', payload: { orderId: 1, total: 5 } });
        // @ts-expect-error the payload is required
        await tx.$outbox({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced' });
        // @ts-expect-error one bad event in an array
        await tx.$outbox([{ aggregateType: 'order', aggregateId: 1, type: 'OrderCancelled', payload: { orderId: 1 } }]);
        return many;
      });
    expectTypeOf(write).returns.resolves.toEqualTypeOf<WrittenEvent<Events>[]>();
  });

  it('one signature: the parameter is one event or a list; a list of unknown length gives a list', () => {
    const write = (prisma = base.$extends(outbox<Events>({ dialect }))) =>
      prisma.$transaction(async (tx) => {
        expectTypeOf(tx.$outbox).parameter(0).toEqualTypeOf<EventInput<Events> | readonly EventInput<Events>[]>();
        const fromList = (events: readonly EventInput<Events>[]) => tx.$outbox(events);
        expectTypeOf(fromList).returns.resolves.toEqualTypeOf<WrittenEvent<Events>[]>();
        const fromEither = (events: EventInput<Events> | EventInput<Events>[]) => tx.$outbox(events);
        expectTypeOf(fromEither).returns.resolves.toEqualTypeOf<WrittenEvent<Events> | WrittenEvent<Events>[]>();
      });
    expectTypeOf(write).toBeFunction();
  });

  it('$outbox on the base client is a type error (and a run-time OutboxTransactionRequiredError)', () => {
    const misuse = (prisma = base.$extends(outbox<Events>({ dialect }))) => [
      // @ts-expect-error the base client is not the interactive-transaction client
      prisma.$outbox({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, total: 5 } }),
      // @ts-expect-error neither is it inside a batch transaction, which is built on the base client
      prisma.$transaction([prisma.$outbox({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, total: 5 } })]),
      prisma.$transaction(async (tx) => {
        const { $outbox } = tx;
        // @ts-expect-error a detached $outbox has no transaction to write in
        return $outbox({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, total: 5 } });
      }),
    ];
    expectTypeOf(misuse).toBeFunction();
  });

  it('accepts any type and JSON payload without an event map', () => {
    const write = async (prisma = base.$extends(outbox({ dialect }))) =>
      prisma.$transaction(async (tx) => tx.$outbox({ aggregateType: 'cart', aggregateId: 'c-1', type: 'Anything', payload: { free: ['form'] } }));
    expectTypeOf(write).returns.resolves.toEqualTypeOf<WrittenEvent>();
    expectTypeOf(write).returns.resolves.toHaveProperty('payload').toEqualTypeOf<JsonValue>();
    expectTypeOf(write).returns.resolves.toHaveProperty('type').toEqualTypeOf<string>();
  });

  it('requires the dialect option', () => {
    // @ts-expect-error dialect is required
    expectTypeOf(outbox).toBeCallableWith({});
    expectTypeOf(outbox).toBeCallableWith({ dialect });
  });
});
