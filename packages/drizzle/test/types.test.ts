import type { WrittenEvent } from '@outboxkit/core';
import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type { MySql2Database } from 'drizzle-orm/mysql2';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { createPostgresDialect } from '@outboxkit/postgres';
import { describe, expectTypeOf, it } from 'vitest';
import { type drizzleInbox, drizzleOutbox, type DrizzleOutbox, type DrizzleTransactionOf } from '../src/index.js';

type Events = {
  OrderPlaced: { orderId: number; total: number };
  OrderCancelled: { orderId: number; reason: string };
};

// Type-level only: checked by `tsc -p tsconfig.test.json`, where every @ts-expect-error must
// find an error. The functions are never called, so no database is needed.
declare const pgDb: NodePgDatabase;
declare const mysqlDb: MySql2Database;
declare const sqliteDb: BetterSQLite3Database;
declare const outbox: DrizzleOutbox<Events>;
const dialect = createPostgresDialect();

describe('typed events through drizzleOutbox<Events>()', () => {
  it('types add() by event type and payload; node-postgres and mysql2 resolve, better-sqlite3 returns', () => {
    const onPostgres = () =>
      pgDb.transaction(async (tx) => {
        const written = await outbox(tx).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, total: 5 } });
        expectTypeOf(outbox(tx).add).returns.toEqualTypeOf<Promise<WrittenEvent[]>>();
        // @ts-expect-error a payload of the wrong shape for its type
        await outbox(tx).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, reason: 'late' } });
        // @ts-expect-error a wrong payload field type
        await outbox(tx).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: '1', total: 5 } });
        // @ts-expect-error an event type not in the map
        await outbox(tx).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderShipped', payload: { orderId: 1, total: 5 } });
        // @ts-expect-error one bad event in an array
        await outbox(tx).add([{ aggregateType: 'order', aggregateId: 1, type: 'OrderCancelled', payload: { orderId: 1 } }]);
        return written;
      });
    expectTypeOf(onPostgres).returns.resolves.toEqualTypeOf<WrittenEvent[]>();

    const onMysql = () =>
      mysqlDb.transaction(async (tx) =>
        outbox(tx).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderCancelled', payload: { orderId: 1, reason: 'late' } }),
      );
    expectTypeOf(onMysql).returns.resolves.toEqualTypeOf<WrittenEvent[]>();

    const onSqlite = () =>
      sqliteDb.transaction((tx) => {
        const written = outbox(tx).add([{ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { orderId: 1, total: 5 } }]);
        expectTypeOf(written).toEqualTypeOf<WrittenEvent[]>();
        // @ts-expect-error the payload is required
        outbox(tx).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced' });
        // Savepoint transactions are transactions too.
        tx.transaction((nested) =>
          outbox(nested).add({ aggregateType: 'order', aggregateId: 1, type: 'OrderCancelled', payload: { orderId: 1, reason: 'x' } }),
        );
        return written;
      });
    expectTypeOf(onSqlite).returns.toEqualTypeOf<WrittenEvent[]>();
  });

  it('refuses the database itself where a transaction is expected', () => {
    const misuse = () => {
      // @ts-expect-error the database is not a transaction
      outbox(pgDb);
      // @ts-expect-error the database is not a transaction
      outbox(sqliteDb);
    };
    expectTypeOf(misuse).toBeFunction();
  });

  it('defaults to any type and JSON payload without an event map, and requires the dialect option', () => {
    expectTypeOf(drizzleOutbox<{}>).returns.resolves.toEqualTypeOf<DrizzleOutbox<{}>>();
    expectTypeOf(drizzleOutbox).toBeCallableWith({} as NodePgDatabase, { dialect });
    // @ts-expect-error dialect is required
    expectTypeOf(drizzleOutbox).toBeCallableWith({} as NodePgDatabase, {});
    const untyped = (tx: DrizzleTransactionOf<NodePgDatabase>, plain: DrizzleOutbox) =>
      plain(tx).add({ aggregateType: 'cart', aggregateId: 'c-1', type: 'Anything', payload: { free: ['form'] } });
    expectTypeOf(untyped).returns.toEqualTypeOf<Promise<WrittenEvent[]>>();
  });

  it("types the inbox handler's transaction as the database's", () => {
    type Inbox = Awaited<ReturnType<typeof drizzleInbox<BetterSQLite3Database>>>;
    expectTypeOf<Parameters<Parameters<Inbox['transaction']>[0]>[0]>().toEqualTypeOf<DrizzleTransactionOf<BetterSQLite3Database>>();
  });
});
