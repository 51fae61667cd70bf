import {
  OutboxConfigError,
  OutboxTransactionRequiredError,
  Relay,
  type EventInput,
  type Publisher,
  type RelayOptions,
  type WrittenEvent,
} from '@outboxkit/core';
import { createRabbitPublisher } from '@outboxkit/rabbitmq';
import {
  allCommittedDelivered,
  collectQueue,
  DeliveryLog,
  expectDeliveryOk,
  serviceUrl,
  uniqueName,
  type QueueCollector,
} from '@outboxkit/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { outbox, prismaExecutor } from '../../src/index.js';
import type { PrismaHarness, PrismaTestDatabase } from './harness.js';

/** Generous: a bound on a hung broker, never a performance claim. */
const WAIT_MS = 60_000;

type Events = {
  OrderPlaced: { orderId: number; number: string; total: number };
  OrderLineAdded: { orderId: number; line: number };
};

/**
 * The acceptance suite of the Prisma extension, run by each provider's test file against the real
 * database, a real generated client, the real relay and RabbitMQ.
 */
export function describePrismaOutbox(harness: PrismaHarness): void {
  describe(`Prisma outbox extension: ${harness.name}`, () => {
    let db: PrismaTestDatabase;
    let brokerUrl: string;
    let exchange: string;
    let collector: QueueCollector;
    let log: DeliveryLog;
    const publishers: Publisher[] = [];
    const relays: Relay[] = [];

    beforeAll(async () => {
      brokerUrl = await serviceUrl('rabbitmq');
      db = await harness.setup();
    });

    afterAll(async () => {
      await db?.dispose();
    });

    beforeEach(async () => {
      exchange = uniqueName('okp_x');
      log = new DeliveryLog();
      collector = await collectQueue({
        url: brokerUrl,
        queue: uniqueName('okp_q'),
        declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
        log,
      });
    });

    afterEach(async () => {
      await Promise.all(relays.splice(0).map((relay) => relay.stop()));
      await Promise.all(publishers.splice(0).map((publisher) => publisher.close()));
      await collector.close();
    });

    const extended = () => db.prisma.$extends(outbox<Events>({ dialect: db.dialect }));

    function relay(options: Partial<RelayOptions> = {}): Relay {
      const publisher = createRabbitPublisher({ connection: brokerUrl, exchange });
      publishers.push(publisher);
      const created = new Relay({
        dialect: db.dialect,
        database: db.database,
        publisher,
        pollIntervalMs: 50,
        leaseTtlMs: 3000,
        wakeSources: [],
        ...options,
      });
      relays.push(created);
      return created;
    }

    function placed(orderId: number, number: string, total: number): EventInput<Events> {
      return { aggregateType: 'order', aggregateId: orderId, type: 'OrderPlaced', payload: { orderId, number, total } };
    }

    function record(events: readonly WrittenEvent[], outcome: 'committed' | 'rolled-back'): void {
      for (const event of events) log.attempted(event, outcome);
    }

    async function backlog(): Promise<number> {
      return (await db.dialect.status(db.database)).backlog;
    }

    it('delivers an event written in the transaction that creates the business row', async () => {
      const prisma = extended();
      const number = uniqueName('A');
      const written = await prisma.$transaction(async (tx) => {
        const order = await tx.order.create({ data: { number, total: 42 } });
        return tx.$outbox(placed(order.id, number, 42));
      });
      record([written], 'committed');
      expect(written.sequence).toBe(1);

      const result = await relay().drain();
      expect(result).toMatchObject({ claimed: 1, published: 1, failed: 0 });
      await collector.waitFor(allCommittedDelivered, WAIT_MS);
      const report = log.check();
      expect(report.lost).toEqual([]);
      expect(report.unexpected).toEqual([]);
      expectDeliveryOk(report);
      const message = collector.messages.find((m) => m.messageId === written.id)!;
      expect(message.type).toBe('OrderPlaced');
      const order = await prisma.order.findUniqueOrThrow({ where: { number } });
      expect(JSON.parse((message.body as Buffer).toString())).toEqual({ orderId: order.id, number, total: 42 });
      expect(await backlog()).toBe(0);
    });

    it('a transaction that throws after tx.$outbox leaves neither the business row nor the event', async () => {
      const prisma = extended();
      const number = uniqueName('R');
      const failure = new Error('payment declined');
      let written: WrittenEvent | undefined;
      await expect(
        prisma.$transaction(async (tx) => {
          const order = await tx.order.create({ data: { number, total: 7 } });
          written = await tx.$outbox(placed(order.id, number, 7));
          // The event is in the transaction: visible on its own connection before commit.
          // Number(): the SQLite dialect returns count(*) as Prisma decodes it, a bigint (reported).
          expect(Number(await db.dialect.countPending(prismaExecutor(tx)))).toBe(1);
          throw failure;
        }),
      ).rejects.toBe(failure);
      record([written!], 'rolled-back');
      expect(await prisma.order.count({ where: { number } })).toBe(0);
      expect(await backlog()).toBe(0);

      // A committed neighbour proves the relay ran and would have seen a leaked event.
      const kept = await prisma.$transaction(async (tx) => {
        const order = await tx.order.create({ data: { number: uniqueName('K'), total: 1 } });
        return tx.$outbox(placed(order.id, order.number, 1));
      });
      record([kept], 'committed');
      expect((await relay().drain()).claimed).toBe(1);
      await collector.waitFor(allCommittedDelivered, WAIT_MS);
      const report = log.check();
      expect(report.rolledBack).toBe(1);
      expect(report.unexpected).toEqual([]);
      expect(report.lost).toEqual([]);
      expectDeliveryOk(report);
    });

    it('$outbox outside an interactive transaction fails loudly and writes nothing', async () => {
      const prisma = extended();
      const number = uniqueName('N');
      const event = placed(1, number, 1);
      expect(() => prisma.$outbox(event)).toThrow(OutboxTransactionRequiredError);
      expect(() => prisma.$outbox([event])).toThrow(OutboxTransactionRequiredError);
      expect(() => prisma.$outbox(event)).toThrow('prisma.$transaction(async (tx) => {');
      // Batch transactions: the array is built on the base client, so the batch never starts.
      expect(() => prisma.$transaction([prisma.order.create({ data: { number, total: 1 } }), prisma.$outbox(event) as never])).toThrow(
        /batch transactions/,
      );
      expect(await prisma.order.count({ where: { number } })).toBe(0);
      expect(await backlog()).toBe(0);
      // Batch transactions without $outbox still work through the extension.
      const [created] = await prisma.$transaction([prisma.order.create({ data: { number, total: 3 } })]);
      expect(created.number).toBe(number);
    });

    it('writes with nested writes, createMany and 100 events in one transaction, delivered in order', async () => {
      const prisma = extended();
      const number = uniqueName('M');
      const { written, orderId } = await prisma.$transaction(async (tx) => {
        const order = await tx.order.create({
          data: { number, total: 300, lines: { create: [{ sku: 'a', quantity: 1 }, { sku: 'b', quantity: 2 }] } },
          include: { lines: true },
        });
        const many = await tx.order.createMany({ data: [1, 2, 3].map((i) => ({ number: `${number}-${i}`, total: i })) });
        expect(many.count).toBe(3);
        const first = await tx.$outbox(placed(order.id, number, 300));
        const lines = Array.from({ length: 99 }, (_, i): EventInput<Events> => ({
          aggregateType: 'order',
          aggregateId: order.id,
          type: 'OrderLineAdded',
          payload: { orderId: order.id, line: i + 1 },
        }));
        const rest = await tx.$outbox(lines);
        return { written: [first, ...rest], orderId: order.id };
      });
      record(written, 'committed');
      expect(written).toHaveLength(100);
      expect(written.map((event) => event.sequence)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
      expect(await prisma.orderLine.count({ where: { orderId } })).toBe(2);
      expect(await prisma.order.count({ where: { number: { startsWith: number } } })).toBe(4);

      expect((await relay().drain()).published).toBe(100);
      await collector.waitFor(allCommittedDelivered, WAIT_MS);
      const report = log.check();
      expect(report.lost).toEqual([]);
      expect(report.unexpected).toEqual([]);
      expect(report.orderViolations).toEqual([]);
      expectDeliveryOk(report);
    });

    it('wakes the relay in this process once the transaction commits, not before, and not for rollbacks', async () => {
      const prisma = extended();
      // A poll interval far longer than the test: the relay's first idle wait is 1/16 of it.
      const running = relay({ pollIntervalMs: 600_000, wakeSources: undefined });
      const wake = vi.spyOn(running, 'wake');
      await running.start();

      const written = await prisma.$transaction(async (tx) => {
        const order = await tx.order.create({ data: { number: uniqueName('W'), total: 5 } });
        const event = await tx.$outbox(placed(order.id, order.number, 5));
        expect(wake).not.toHaveBeenCalled();
        return event;
      });
      expect(wake).toHaveBeenCalledTimes(1);
      record([written], 'committed');
      await collector.waitFor(allCommittedDelivered, WAIT_MS);

      await expect(
        prisma.$transaction(async (tx) => {
          await tx.$outbox(placed(999_999, 'never', 0));
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      await prisma.$transaction(async (tx) => tx.order.create({ data: { number: uniqueName('Q'), total: 0 } }));
      expect(wake).toHaveBeenCalledTimes(1);

      // A nested transaction releases a savepoint, not a commit: one signal, after the outer commit.
      const nested = await prisma.$transaction(async (tx) => {
        const inner = await tx.$transaction(async (innerTx) => {
          const order = await innerTx.order.create({ data: { number: uniqueName('S'), total: 9 } });
          return innerTx.$outbox(placed(order.id, order.number, 9));
        });
        expect(wake).toHaveBeenCalledTimes(1);
        return inner;
      });
      expect(wake).toHaveBeenCalledTimes(2);
      record([nested], 'committed');
      await collector.waitFor(allCommittedDelivered, WAIT_MS);
      expectDeliveryOk(log.check());
    });

    it('works whichever side of other extensions it is registered on', async () => {
      const audit = { query: { $allModels: { async create({ args, query }: { args: unknown; query: (a: unknown) => Promise<unknown> }) { return query(args); } } } };
      const before = db.prisma.$extends(audit).$extends(outbox<Events>({ dialect: db.dialect }));
      const after = db.prisma.$extends(outbox<Events>({ dialect: db.dialect })).$extends({ client: { $marker: () => 'later extension' } });
      const first = await before.$transaction(async (tx) => tx.$outbox(placed(1_000_001, 'x', 1)));
      const second = await after.$transaction(async (tx) => {
        expect(tx.$marker()).toBe('later extension');
        return tx.$outbox(placed(1_000_002, 'y', 2));
      });
      record([first, second], 'committed');
      expect((await relay().drain()).published).toBe(2);
      await collector.waitFor(allCommittedDelivered, WAIT_MS);
      expectDeliveryOk(log.check());
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
  });
}

