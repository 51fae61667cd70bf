import { OutboxConfigError, OutboxTransactionRequiredError, type EventInput } from '@outboxkit/core';
import { DeliveryBench, uniqueName } from '@outboxkit/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { outbox, PrismaDriverError, prismaExecutor } from '../../src/index.js';
import type { PrismaDatabaseKind, PrismaTestDatabase } from './databases.js';

type Events = {
  OrderPlaced: { orderId: number; number: string; total: number };
  OrderLineAdded: { orderId: number; line: number };
};

/**
 * What only the Prisma extension has, on one database: the synchronous refusal on the base client
 * and in batch transactions, Prisma's nested writes, extension order, the provider check and the
 * driver error unwrapping. Everything every ORM plugin guarantees is in the ORM-adapter
 * conformance suite (see prisma-adapter.ts).
 */
export function describePrismaOutbox(kind: PrismaDatabaseKind): void {
  describe(`Prisma outbox extension: ${kind.name}`, () => {
    let db: PrismaTestDatabase;
    let bench: DeliveryBench;

    beforeAll(async () => {
      db = await kind.setup();
    });

    afterAll(async () => {
      await db?.dispose();
    });

    beforeEach(async () => {
      bench = await DeliveryBench.open(db);
    });

    afterEach(async () => {
      await bench.close();
    });

    const extended = () => db.prisma.$extends(outbox<Events>({ dialect: db.dialect }));
    const backlog = async () => (await db.dialect.status(db.database)).backlog;

    function placed(orderId: number, number: string, total: number): EventInput<Events> {
      return { aggregateType: 'order', aggregateId: orderId, type: 'OrderPlaced', payload: { orderId, number, total } };
    }

    it('$outbox outside an interactive transaction throws synchronously, also in batch transactions, and writes nothing', async () => {
      const prisma = extended();
      const number = uniqueName('N');
      const event = placed(1, number, 1);
      // Each of these is a type error as well (types.test.ts); this checks what plain JS, or a cast, meets.
      // @ts-expect-error the base client
      expect(() => prisma.$outbox(event)).toThrow(OutboxTransactionRequiredError);
      // @ts-expect-error the base client
      expect(() => prisma.$outbox([event])).toThrow(OutboxTransactionRequiredError);
      // @ts-expect-error the base client
      expect(() => prisma.$outbox(event)).toThrow('prisma.$transaction(async (tx) => {');
      // Batch transactions: the array is built on the base client, so the batch never starts.
      // @ts-expect-error the base client
      expect(() => prisma.$transaction([prisma.order.create({ data: { number, total: 1 } }), prisma.$outbox(event) as never])).toThrow(/batch transactions/);
      expect(await prisma.order.count({ where: { number } })).toBe(0);
      expect(await backlog()).toBe(0);
      // Batch transactions without $outbox still work through the extension.
      const [created] = await prisma.$transaction([prisma.order.create({ data: { number, total: 3 } })]);
      expect(created.number).toBe(number);
    });

    it('writes events in the transaction of nested writes and createMany, delivered in order', async () => {
      const prisma = extended();
      const number = uniqueName('M');
      const { written, orderId } = await prisma.$transaction(async (tx) => {
        const order = await tx.order.create({
          data: {
            number,
            total: 300,
            lines: {
              create: [
                { sku: 'a', quantity: 1 },
                { sku: 'b', quantity: 2 },
              ],
            },
          },
          include: { lines: true },
        });
        const many = await tx.order.createMany({ data: [1, 2, 3].map((i) => ({ number: `${number}-${i}`, total: i })) });
        expect(many.count).toBe(3);
        const first = await tx.$outbox(placed(order.id, number, 300));
        const lines = order.lines.map(
          (_line, i): EventInput<Events> => ({
            aggregateType: 'order',
            aggregateId: order.id,
            type: 'OrderLineAdded',
            payload: { orderId: order.id, line: i + 1 },
          }),
        );
        return { written: [first, ...(await tx.$outbox(lines))], orderId: order.id };
      });
      bench.record(written, 'committed');
      expect(written.map((event) => event.sequence)).toEqual([1, 2, 3]);
      expect(await prisma.orderLine.count({ where: { orderId } })).toBe(2);
      expect(await prisma.order.count({ where: { number: { startsWith: number } } })).toBe(4);

      const { drained, report } = await bench.deliverAndCheck();
      expect(drained.published).toBe(3);
      expect(report.orderViolations).toEqual([]);
    });

    it('passes expiresAt / ttlMs through to core: an expired event is quarantined unpublished, an unexpired one delivered', async () => {
      const prisma = extended();
      const stale = { ...placed(900, uniqueName('X'), 1), occurredAt: new Date(Date.now() - 60_000), ttlMs: 1000 };
      const [expired, fresh] = await prisma.$transaction((tx) => tx.$outbox([stale, { ...placed(901, uniqueName('F'), 2), ttlMs: 600_000 }]));
      expect(fresh!.expiresAt!.getTime()).toBe(fresh!.occurredAt.getTime() + 600_000);
      await expect(prisma.$transaction((tx) => tx.$outbox({ ...placed(902, uniqueName('B'), 3), ttlMs: -1 }))).rejects.toThrow(/ttlMs: must be/);
      bench.record([fresh!], 'committed');
      const { drained } = await bench.deliverAndCheck();
      expect(drained).toMatchObject({ published: 1, expired: 1, quarantined: 1 });
      const quarantined = await db.dialect.listQuarantine(db.database, { includeResolved: false, limit: 10 });
      expect(quarantined.map((entry) => [entry.id, entry.reason.split(':')[0]])).toEqual([[expired!.id, 'expired']]);
    });

    it('works whichever side of other extensions it is registered on', async () => {
      const audit = {
        query: {
          $allModels: {
            async create({ args, query }: { args: unknown; query: (a: unknown) => Promise<unknown> }) {
              return query(args);
            },
          },
        },
      };
      const before = db.prisma.$extends(audit).$extends(outbox<Events>({ dialect: db.dialect }));
      const after = db.prisma.$extends(outbox<Events>({ dialect: db.dialect })).$extends({ client: { $marker: () => 'later extension' } });
      const first = await before.$transaction(async (tx) => tx.$outbox(placed(1_000_001, 'x', 1)));
      const second = await after.$transaction(async (tx) => {
        expect(tx.$marker()).toBe('later extension');
        return tx.$outbox(placed(1_000_002, 'y', 2));
      });
      bench.record([first, second], 'committed');
      expect((await bench.deliverAndCheck()).drained.published).toBe(2);
    });

    it('rejects a dialect that does not match the client, and bad options, naming the option', () => {
      const mismatch = (() => {
        try {
          db.prisma.$extends(outbox({ dialect: db.wrongDialect }));
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(mismatch).toBeInstanceOf(OutboxConfigError);
      expect((mismatch as OutboxConfigError).option).toBe('dialect');
      expect((mismatch as Error).message).toContain(`"${db.wrongDialect.name}"`);
      expect(() => outbox({} as never)).toThrow(OutboxConfigError);
      expect(() => outbox({ dialect: db.dialect, notify: true } as never)).toThrow(/notify: unknown option/);
    });

    it("a failed statement rejects with a PrismaDriverError carrying the driver's error code, so dialects match it like a driver error", async () => {
      const insert = `INSERT INTO ${db.ordersTable} (number, total) VALUES ('${uniqueName('D')}', 1)`;
      const executor = prismaExecutor(db.prisma);
      await executor.query(insert);
      const error: unknown = await executor.query(insert).then(
        () => undefined,
        (rejection: unknown) => rejection,
      );
      expect(error).toBeInstanceOf(PrismaDriverError);
      const { errno, code } = error as PrismaDriverError;
      expect({ errno, code }).toEqual({ errno: undefined, code: undefined, ...db.duplicateKey });
      // Prisma's own error stays reachable, with its message.
      expect((error as Error).cause).toMatchObject({ code: 'P2010' });
      expect((error as Error).message).toBe(((error as Error).cause as Error).message);
    });
  });
}
