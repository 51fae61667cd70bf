import type { InboxDatabase, InboxDialect, InboxEvent, InboxTransaction, JsonValue, SqlDatabase, SqlExecutor, TypedInboxEvent } from '@outboxkit/core';
import { createNatsInboxConsumer } from '@outboxkit/nats';
import { createInboxConsumer } from '@outboxkit/rabbitmq';
import { createRedisInboxConsumer } from '@outboxkit/redis';
import { describe, expectTypeOf, it } from 'vitest';

// Type-level only: checked by `tsc -p tsconfig.test.json` (`pnpm typecheck`), where each
// expected-error directive must find its error. Nothing is connected: the consumers are built
// inside functions that are never called.

type Events = {
  OrderPlaced: { orderId: string; total: number };
  OrderCancelled: { orderId: string; reason: string };
};

declare const db: SqlDatabase;
declare const dialect: InboxDialect;
/** An ORM's transaction handle and its inbox seam, like prismaInbox(prisma) or knexInbox(knex). */
interface OrmTransaction {
  readonly orm: true;
  insert(table: string, row: object): Promise<void>;
}
declare const ormInbox: InboxDatabase<OrmTransaction>;
const rabbit = { connection: 'amqp://127.0.0.1:5672', queue: 'billing.orders', consumer: 'billing' } as const;

describe('createInboxConsumer<Events>: the handler gets the event of the map', () => {
  it('event.type narrows event.payload, without a cast; tx stays the SqlExecutor', () => {
    const start = () =>
      createInboxConsumer<Events>({
        ...rabbit,
        db,
        dialect,
        handler: async (event, tx) => {
          expectTypeOf(event.type).toEqualTypeOf<'OrderPlaced' | 'OrderCancelled'>();
          expectTypeOf(tx).toEqualTypeOf<SqlExecutor>();
          expectTypeOf(event.aggregateId).toEqualTypeOf<string>();
          expectTypeOf(event.sequence).toEqualTypeOf<number>();
          if (event.type === 'OrderPlaced') {
            expectTypeOf(event.payload).toEqualTypeOf<{ orderId: string; total: number }>();
            await tx.query('INSERT INTO invoices (order_id, total) VALUES ($1, $2)', [event.payload.orderId, event.payload.total]);
            // @ts-expect-error OrderPlaced has no reason
            void event.payload.reason;
          } else {
            expectTypeOf(event.payload).toEqualTypeOf<{ orderId: string; reason: string }>();
          }
          // @ts-expect-error a type the map does not have
          if (event.type === 'OrderShipped') return;
        },
      });
    expectTypeOf(start).toBeFunction();
  });

  it('without a map: InboxEvent as before (type: string, a JSON payload)', () => {
    const start = () =>
      createInboxConsumer({
        ...rabbit,
        db,
        dialect,
        handler: async (event) => {
          expectTypeOf(event).toEqualTypeOf<InboxEvent>();
          expectTypeOf(event.payload).toEqualTypeOf<JsonValue>();
        },
      });
    expectTypeOf(start).toBeFunction();
    expectTypeOf<TypedInboxEvent>().toEqualTypeOf<InboxEvent>();
  });

  it('an ORM seam: Tx is inferred without a map, and named with InboxTransaction next to one', () => {
    const inferred = () =>
      createInboxConsumer({
        ...rabbit,
        db: ormInbox,
        dialect,
        handler: async (_event, tx) => {
          expectTypeOf(tx).toEqualTypeOf<OrmTransaction>();
        },
      });
    const typed = () =>
      createInboxConsumer<Events, InboxTransaction<typeof ormInbox>>({
        ...rabbit,
        db: ormInbox,
        dialect,
        handler: async (event, tx) => {
          expectTypeOf(tx).toEqualTypeOf<OrmTransaction>();
          if (event.type === 'OrderCancelled') await tx.insert('cancellations', { order: event.payload.orderId, reason: event.payload.reason });
        },
      });
    // A map alone fixes Tx to its default, the SqlExecutor, which the ORM seam does not give.
    const mapOnly = () =>
      createInboxConsumer<Events>({
        ...rabbit,
        // @ts-expect-error an ORM seam needs its Tx named next to the map
        db: ormInbox,
        dialect,
        handler: async () => undefined,
      });
    expectTypeOf(inferred).toBeFunction();
    expectTypeOf(typed).toBeFunction();
    expectTypeOf(mapOnly).toBeFunction();
  });

  it('a handler written on its own with TypedInboxEvent<Events> fits', () => {
    const onOrder = async (event: TypedInboxEvent<Events>, tx: SqlExecutor): Promise<void> => {
      if (event.type === 'OrderPlaced') await tx.query('SELECT $1', [event.payload.total]);
    };
    const start = () => createInboxConsumer<Events>({ ...rabbit, db, dialect, handler: onOrder });
    // A handler of another map does not.
    const wrong = async (event: TypedInboxEvent<{ Other: { x: number } }>): Promise<void> => void event.payload.x;
    // @ts-expect-error the handler expects events of another map
    const mismatched = () => createInboxConsumer<Events>({ ...rabbit, db, dialect, handler: wrong });
    expectTypeOf(start).toBeFunction();
    expectTypeOf(mismatched).toBeFunction();
  });

  it('the NATS and Redis inbox consumers have the same shape', () => {
    const nats = () =>
      createNatsInboxConsumer<Events>({
        connection: 'nats://127.0.0.1:4222',
        consumer: 'billing',
        db,
        dialect,
        handler: async (event) => {
          if (event.type === 'OrderPlaced') expectTypeOf(event.payload.total).toEqualTypeOf<number>();
        },
      });
    const redis = () =>
      createRedisInboxConsumer<Events, InboxTransaction<typeof ormInbox>>({
        connection: 'redis://127.0.0.1:6379',
        stream: 'outbox:order',
        consumer: 'billing',
        db: ormInbox,
        dialect,
        handler: async (event, tx) => {
          expectTypeOf(tx).toEqualTypeOf<OrmTransaction>();
          if (event.type === 'OrderCancelled') expectTypeOf(event.payload.reason).toEqualTypeOf<string>();
        },
      });
    expectTypeOf(nats).toBeFunction();
    expectTypeOf(redis).toBeFunction();
  });
});
