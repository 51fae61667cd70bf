import { randomUUID } from 'node:crypto';
import { UniqueConstraintViolationException, type EntityManager } from '@mikro-orm/core';
import { localCommits, OutboxValidationError, type Envelope, type EventInput } from '@outboxkit/core';
import { DeliveryBench } from '@outboxkit/testkit';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { outbox, outboxRule } from '../../src/index.js';
import type { OrmDatabase, OrmDatabaseKind } from './databases.js';
import { InvoiceSchema, NoteSchema, OrderSchema, type Invoice } from './entities.js';

/** What an Invoice rule produced, to be recorded as committed or rolled back once the flush settles. */
interface RuleCall {
  readonly id: string;
  readonly kind: 'created' | 'updated' | 'deleted';
  readonly invoiceId: number;
}

/**
 * What only the MikroORM plugin has, on one database, end to end: the ORM writes, the real relay
 * publishes to the real RabbitMQ, a collector records deliveries, the DeliveryLog judges them.
 * Order changes carry explicit `outbox.add` events; Invoice changes produce rule events; Note
 * changes produce none. What every ORM plugin guarantees (transactions, savepoints, ordering,
 * wake-ups, the inbox) is in the ORM-adapter conformance suite (see mikro-orm-adapter.ts).
 */
export function describeMikroOrmOutbox(kind: OrmDatabaseKind): void {
  describe(`MikroORM outbox on ${kind.name}`, () => {
    let db: OrmDatabase;
    let bench: DeliveryBench;
    const ruleCalls: RuleCall[] = [];

    const invoiceRule = (kind: RuleCall['kind']) =>
      outboxRule({
        entity: InvoiceSchema,
        on: [kind === 'created' ? 'create' : kind === 'updated' ? 'update' : 'delete'],
        event: (invoice: Invoice): EventInput | null => {
          // A code the rule refuses with an invalid event: shows a rule runs inside the transaction.
          if (invoice.code.startsWith('invalid')) return { aggregateType: 'invoice', aggregateId: '', type: `invoice.${kind}`, payload: null };
          const id = randomUUID();
          ruleCalls.push({ id, kind, invoiceId: invoice.id });
          return { id, aggregateType: 'invoice', aggregateId: invoice.id, type: `invoice.${kind}`, payload: { code: invoice.code, amount: invoice.amount } };
        },
      });

    beforeAll(async () => {
      db = await kind.setup((dialect) => ({ dialect, rules: [invoiceRule('created'), invoiceRule('updated'), invoiceRule('deleted')] }));
    });

    afterAll(async () => {
      await db?.dispose();
    });

    beforeEach(async () => {
      bench = await DeliveryBench.open({ dialect: db.dialect, database: db.relayDatabase });
    });

    afterEach(async () => {
      await bench.close();
    });

    const fork = (): EntityManager => db.orm.em.fork();
    const orderEvent = (number: string, type = 'order.placed'): EventInput => ({ aggregateType: 'order', aggregateId: number, type, payload: { number } });
    const pending = () => db.dialect.countPending(db.relayDatabase);
    const orderCount = (number: string) => fork().count(OrderSchema, { number });

    /** Runs a unit of work and records its explicit and rule events with how it ended. */
    async function attempt<T>(events: readonly Envelope[], work: () => Promise<T>): Promise<'committed' | 'rolled-back'> {
      const rulesBefore = ruleCalls.length;
      let outcome: 'committed' | 'rolled-back' = 'committed';
      try {
        await work();
      } catch {
        outcome = 'rolled-back';
      }
      bench.record(events, outcome);
      bench.record(
        ruleCalls.slice(rulesBefore).map((call) => ({ id: call.id, aggregateType: 'invoice', aggregateId: String(call.invoiceId) })),
        outcome,
      );
      return outcome;
    }

    /** Drains the outbox with the real relay and checks every delivery so far: nothing lost, nothing unexpected. */
    async function deliverAndCheck(): Promise<void> {
      await bench.deliverAndCheck();
      expect(await pending()).toBe(0);
    }

    it('a flush that persists an entity and adds an event delivers the event through the relay', async () => {
      const em = fork();
      em.persist(em.create(OrderSchema, { number: 'A-1', total: 5 }));
      const event = outbox.add(em, orderEvent('A-1'));
      expect(await attempt([event], () => em.flush())).toBe('committed');
      expect(await orderCount('A-1')).toBe(1);
      await deliverAndCheck();
      expect(bench.collector.messages.find((m) => m.messageId === event.id)?.type).toBe('order.placed');
      expect(bench.bodyOf(event.id)).toEqual({ number: 'A-1' });
    });

    it('a failing flush (unique violation on the entity) leaves neither the entity nor the event, also when flushed again', async () => {
      const first = fork();
      first.persist(first.create(OrderSchema, { number: 'B-1', total: 1 }));
      await first.flush();
      const em = fork();
      em.persist(em.create(OrderSchema, { number: 'B-1', total: 2 }));
      const event = outbox.add(em, orderEvent('B-1', 'order.duplicated'));
      await expect(em.flush()).rejects.toBeInstanceOf(UniqueConstraintViolationException);
      bench.record([event], 'rolled-back');
      expect(await pending()).toBe(0);
      // MikroORM drops a failed flush's changes; its events must not ride along with a later flush.
      em.persist(em.create(NoteSchema, { text: 'later flush of the same EntityManager' }));
      await em.flush();
      expect(await pending()).toBe(0);
      expect(await fork().find(OrderSchema, { number: 'B-1' })).toMatchObject([{ total: 1 }]);
      await deliverAndCheck();
      expect(bench.log.wasDelivered(event.id)).toBe(false);
    });

    it('inside orm.em.transactional, outbox.add(orm.em) joins the transaction like em.persist does', async () => {
      const events: Envelope[] = [];
      const outcome = await attempt(events, () =>
        db.orm.em.transactional(async () => {
          db.orm.em.persist(db.orm.em.create(OrderSchema, { number: 'D-1', total: 4 }));
          events.push(...outbox.add(db.orm.em, [orderEvent('D-1'), orderEvent('D-1', 'order.confirmed')]));
        }),
      );
      expect(outcome).toBe('committed');
      expect(await orderCount('D-1')).toBe(1);
      expect(await pending()).toBe(2);
      await deliverAndCheck();
    });

    it('a flush with events but no entity changes writes them in a transaction of their own', async () => {
      const em = fork();
      const events = outbox.add(em, [orderEvent('F-1'), orderEvent('F-2')]);
      expect(await pending()).toBe(0);
      expect(await attempt(events, () => em.flush())).toBe('committed');
      expect(await pending()).toBe(2);
      await em.flush();
      expect(await pending()).toBe(2);
      await deliverAndCheck();
    });

    it('outbox.add validates at the call: bad input throws and queues nothing', async () => {
      const em = fork();
      expect(() => outbox.add(em, { ...orderEvent('G-1'), payload: { at: () => 1 } } as never)).toThrow(OutboxValidationError);
      expect(() => outbox.add(em, [orderEvent('G-2'), { ...orderEvent('G-3'), aggregateId: '' }])).toThrow(/aggregateId/);
      em.persist(em.create(OrderSchema, { number: 'G-1', total: 1 }));
      await em.flush();
      expect(await pending()).toBe(0);
    });

    it('change rules emit exactly one event per declared change, after the change (with its generated id)', async () => {
      const em = fork();
      const first = em.create(InvoiceSchema, { code: 'I-1', amount: 10 });
      const second = em.create(InvoiceSchema, { code: 'I-2', amount: 20 });
      em.persist([first, second, em.create(NoteSchema, { text: 'no rule for notes' })]);
      const callsBefore = ruleCalls.length;
      await attempt([], () => em.flush());
      first.amount = 11;
      await attempt([], () => em.flush());
      em.remove(second);
      await attempt([], () => em.flush());
      await attempt([], () => em.flush()); // nothing changed: nothing emitted
      const calls = ruleCalls.slice(callsBefore);
      expect(calls.map((c) => [c.kind, c.invoiceId])).toEqual([
        ['created', first.id],
        ['created', expect.any(Number)],
        ['updated', first.id],
        ['deleted', calls[1]!.invoiceId],
      ]);
      expect(typeof first.id).toBe('number');
      expect(await pending()).toBe(4);
      await deliverAndCheck();
      const delivered = bench.collector.messages.filter((m) => calls.some((c) => c.id === m.messageId)).map((m) => m.type);
      expect(delivered.sort()).toEqual(['invoice.created', 'invoice.created', 'invoice.deleted', 'invoice.updated']);
    });

    it('change rules run inside the flush transaction: a failing flush emits nothing, a failing rule rolls the change back', async () => {
      const em = fork();
      em.persist(em.create(InvoiceSchema, { code: 'J-1', amount: 1 }));
      await attempt([], () => em.flush());
      const duplicate = fork();
      duplicate.persist(duplicate.create(InvoiceSchema, { code: 'J-1', amount: 2 }));
      await expect(duplicate.flush()).rejects.toBeInstanceOf(UniqueConstraintViolationException);
      const invalid = fork();
      invalid.persist(invalid.create(InvoiceSchema, { code: 'invalid-1', amount: 3 }));
      await expect(invalid.flush()).rejects.toBeInstanceOf(OutboxValidationError);
      expect(await fork().count(InvoiceSchema, { code: { $in: ['J-1', 'invalid-1'] } })).toBe(1);
      expect(await pending()).toBe(1);
      await deliverAndCheck();
    });

    it('wakes relays in this process once per committed transaction that wrote events, never for one that did not', async () => {
      let signals = 0;
      const unsubscribe = localCommits.subscribe(() => signals++);
      try {
        const em = fork();
        em.persist(em.create(OrderSchema, { number: 'K-1', total: 1 }));
        await attempt([outbox.add(em, orderEvent('K-1'))], () => em.flush());
        expect(signals).toBe(1);
        em.persist(em.create(NoteSchema, { text: 'no events' }));
        await em.flush();
        expect(signals).toBe(1);
        const failing = fork();
        failing.persist(failing.create(OrderSchema, { number: 'K-1', total: 2 }));
        const lost = outbox.add(failing, orderEvent('K-1', 'order.duplicated'));
        await expect(failing.flush()).rejects.toBeInstanceOf(UniqueConstraintViolationException);
        bench.record([lost], 'rolled-back');
        expect(signals).toBe(1);
        const events: Envelope[] = [];
        await attempt(events, () =>
          fork().transactional(async (tx) => {
            tx.persist(tx.create(OrderSchema, { number: 'K-2', total: 1 }));
            events.push(outbox.add(tx, orderEvent('K-2')));
            await tx.flush();
            events.push(outbox.add(tx, orderEvent('K-2', 'order.confirmed')));
          }),
        );
        expect(signals).toBe(2);
        const eventsOnly = fork();
        await attempt([outbox.add(eventsOnly, orderEvent('K-3'))], () => eventsOnly.flush());
        expect(signals).toBe(3);
        await attempt([], () => fork().transactional(async (tx) => void tx.persist(tx.create(NoteSchema, { text: 'no events either' }))));
        expect(signals).toBe(3);
      } finally {
        unsubscribe();
      }
      await deliverAndCheck();
    });
  });
}
