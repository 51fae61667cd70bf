import type { InboxDatabase, WrittenEvent } from '@outboxkit/core';
import type { Kysely, Transaction } from 'kysely';
import { createPostgresDialect } from '@outboxkit/postgres';
import { describe, expectTypeOf, it } from 'vitest';
import { kyselyInbox, kyselyOutbox, type KyselyOutbox } from '../src/index.js';
import type { ShopDatabase } from './support/databases.js';

type Events = {
  OrderPlaced: { orderId: number; total: number };
  OrderCancelled: { orderId: number; reason: string };
};

// Type-level only: checked by `tsc -p tsconfig.test.json`, where every @ts-expect-error must
// find an error. The functions are never called, so no database is needed.
declare const outbox: KyselyOutbox<Events>;
const dialect = createPostgresDialect();

describe('typed events through kyselyOutbox<Events>()', () => {
  it('types add() by event type and payload', () => {
    const write = async (trx: Transaction<ShopDatabase>) => {
      const written = await outbox(trx).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, total: 5 } });
      await outbox(trx).add([
        { aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, total: 5 } },
        { aggregateType: 'order', aggregateId: 1, type: 'OrderCancelled', payload: { orderId: 1, reason: 'late' } },
      ]);
      // @ts-expect-error a payload of the wrong shape for its type
      await outbox(trx).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, reason: 'late' } });
      // @ts-expect-error a wrong payload field type
      await outbox(trx).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: '1', total: 5 } });
      // @ts-expect-error an event type not in the map
      await outbox(trx).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderShipped', payload: { orderId: 1, total: 5 } });
      // @ts-expect-error the payload is required
      await outbox(trx).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced' });
      // @ts-expect-error one bad event in an array
      await outbox(trx).add([{ aggregateType: 'order', aggregateId: 1, type: 'OrderCancelled', payload: { orderId: 1 } }]);
      return written;
    };
    expectTypeOf(write).returns.resolves.toEqualTypeOf<WrittenEvent[]>();
  });

  it('accepts any type and JSON payload without an event map, and requires the dialect option', () => {
    const untyped = (trx: Transaction<ShopDatabase>, plain: KyselyOutbox) =>
      plain(trx).add({ aggregateType: 'cart', aggregateId: 'c-1', type: 'Anything', payload: { free: ['form'] } });
    expectTypeOf(untyped).returns.toEqualTypeOf<Promise<WrittenEvent[]>>();
    expectTypeOf(kyselyOutbox<Events>).returns.toEqualTypeOf<KyselyOutbox<Events>>();
    expectTypeOf(kyselyOutbox).toBeCallableWith({} as Kysely<ShopDatabase>, { dialect });
    // @ts-expect-error dialect is required
    expectTypeOf(kyselyOutbox).toBeCallableWith({} as Kysely<ShopDatabase>, {});
  });

  it("types the inbox handler's transaction by the database", () => {
    expectTypeOf(kyselyInbox<ShopDatabase>).returns.toEqualTypeOf<InboxDatabase<Transaction<ShopDatabase>>>();
    // @ts-expect-error not an isolation level
    expectTypeOf(kyselyInbox<ShopDatabase>).toBeCallableWith({} as Kysely<ShopDatabase>, { isolationLevel: 'sometimes' });
  });
});
