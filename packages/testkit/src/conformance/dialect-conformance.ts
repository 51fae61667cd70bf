import {
  OutboxConfigError,
  OutboxTransactionRequiredError,
  OutboxValidationError,
  Relay,
  resolveQuarantined,
  writeEvents,
  type EventInput,
  type Publisher,
  type RelayOptions,
  type SqlDatabase,
  type WrittenEvent,
} from '@outboxkit/core';
import { createRabbitPublisher } from '@outboxkit/rabbitmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allCommittedDelivered, DeliveryLog, expectDeliveryOk, formatReport } from '../delivery-checker.js';
import { collectQueue, type QueueCollector } from '../rabbit-collector.js';
import { serviceUrl, uniqueName } from '../services.js';
import { GatedPublisher } from './gated-publisher.js';
import type { ConformanceDatabase, DialectHarness } from './harness.js';

export { lostShards } from './fencing.js';

const WAIT_MS = 120_000;
/** The concurrency case writes 10,000 transactions; on a loaded 2-core machine that takes a while. */
const LONG_TEST_MS = 300_000;

/**
 * The dialect conformance suite: the guarantees every database must keep, checked end to end
 * with the real relay and the real RabbitMQ. Call it from a test file of the dialect package:
 *
 * @example
 * describeDialectConformance({ name: 'SQLite', features: { concurrentWriters: false }, setup, createDialect });
 *
 * What differs between databases is read from `harness.features`, never from its name.
 */
export function describeDialectConformance(harness: DialectHarness): void {
  const { features } = harness;
  describe(`dialect conformance: ${harness.name}`, () => {
    let db: ConformanceDatabase;
    let brokerUrl: string;
    let exchange: string;
    let collector: QueueCollector;
    let log: DeliveryLog;
    const publishers: Publisher[] = [];
    const relays: Relay[] = [];

    beforeEach(async () => {
      brokerUrl = await serviceUrl('rabbitmq');
      db = await harness.setup();
      exchange = uniqueName('okt_x');
      log = new DeliveryLog();
      collector = await collectQueue({
        url: brokerUrl,
        queue: uniqueName('okt_q'),
        declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
        log,
      });
    });

    afterEach(async () => {
      await Promise.all(relays.splice(0).map((relay) => relay.stop()));
      await Promise.all(publishers.splice(0).map((publisher) => publisher.close()));
      await collector.close();
      await db.dispose();
    });

    function publisher(): Publisher {
      const created = createRabbitPublisher({ connection: brokerUrl, exchange });
      publishers.push(created);
      return created;
    }

    function relay(options: Partial<RelayOptions> = {}): Relay {
      const created = new Relay({
        dialect: db.dialect,
        database: db.database,
        publisher: options.publisher ?? publisher(),
        pollIntervalMs: 50,
        leaseTtlMs: 3000,
        wakeSources: [],
        ...options,
      });
      relays.push(created);
      return created;
    }

    /** Writes events in one transaction on `database` and records the outcome in the log. */
    async function write(events: readonly EventInput[], options: { commit?: boolean; database?: SqlDatabase } = {}): Promise<WrittenEvent[]> {
      const commit = options.commit ?? true;
      let written: WrittenEvent[] = [];
      const rollback = new Error('rollback requested by the test');
      try {
        await (options.database ?? db.database).transaction(async (tx) => {
          written = await writeEvents(db.dialect, tx, events);
          if (!commit) throw rollback;
        });
      } catch (error) {
        if (error !== rollback) throw error;
      }
      for (const event of written) log.attempted(event, commit ? 'committed' : 'rolled-back');
      return written;
    }

    const event = (aggregateId: string | number, extra: Partial<EventInput> = {}): EventInput =>
      ({
        aggregateType: 'order',
        aggregateId,
        type: 'order.placed',
        payload: { aggregateId },
        ...extra,
      }) as EventInput;

    it('migrations are idempotent', async () => {
      expect(await db.dialect.migrate(db.database)).toEqual([]);
      expect(db.dialect.migrations().length).toBeGreaterThan(0);
    });

    it('delivers committed events with the envelope on the wire', async () => {
      const [first] = await write([
        event('o-1', { headers: { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' } }),
        event('o-1', { type: 'order.paid' }),
        event('o-2'),
      ]);
      const result = await relay().drain();
      expect(result).toMatchObject({ claimed: 3, published: 3, failed: 0, quarantined: 0, fenced: 0 });
      await collector.waitFor(allCommittedDelivered, WAIT_MS);
      const message = collector.messages.find((m) => m.messageId === first!.id)!;
      expect(message.type).toBe('order.placed');
      expect(message.contentType).toBe('application/json');
      expect(message.routingKey).toBe('order.placed');
      expect(message.headers).toMatchObject({
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        'x-outbox-aggregate-type': 'order',
        'x-outbox-aggregate-id': 'o-1',
        'x-outbox-sequence': 1,
      });
      expect(JSON.parse(message.body instanceof Buffer ? message.body.toString() : JSON.stringify(message.body))).toEqual({ aggregateId: 'o-1' });
      expectDeliveryOk(log.check());
      expect((await db.dialect.status(db.database)).backlog).toBe(0);
    });

    it('never delivers an event whose transaction rolled back', async () => {
      await write([event('o-rolled-back')], { commit: false });
      await write([event('o-committed')]);
      const result = await relay().drain();
      expect(result.claimed).toBe(1);
      await collector.waitFor(allCommittedDelivered, WAIT_MS);
      const report = log.check();
      expect(report.rolledBack).toBe(1);
      expect(report.unexpected).toEqual([]);
      expectDeliveryOk(report);
    });

    it('rejects bad input and writes nothing', async () => {
      await expect(write([event('o-1'), event('o-2', { payload: { at: () => 1 } } as never)])).rejects.toBeInstanceOf(OutboxValidationError);
      await expect(write([event('')])).rejects.toThrow(/aggregateId/);
      // Outside a transaction: no silent auto-commit.
      await expect(writeEvents(db.dialect, db.database, event('o-3'))).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
      expect((await db.dialect.status(db.database)).backlog).toBe(0);
    });

    it('validates table identifiers before any SQL exists', () => {
      for (const bad of ['x"; DROP TABLE t;--', 'a b', 'a`b']) {
        expect(() => harness.createDialect({ prefix: bad })).toThrow(OutboxConfigError);
        expect(() => harness.createDialect({ names: { events: bad } })).toThrow(OutboxConfigError);
      }
    });

    it(
      'keeps per-aggregate order with concurrent writers and a running relay',
      async () => {
        const aggregates = 200;
        const perAggregate = 50;
        const running = relay({ batchSize: 500 });
        await running.start();
        const queue: number[] = [];
        for (let round = 0; round < perAggregate; round++) for (let a = 0; a < aggregates; a++) queue.push(a);
        // Bound to this test's database: a writer still running after a failure must not write into the next test's.
        const database = db.database;
        const writer = async (): Promise<void> => {
          for (let a = queue.shift(); a !== undefined; a = queue.shift()) {
            await write([event(`c-${a}`, { payload: { a } })], { database });
          }
        };
        const started = Date.now();
        await Promise.all(Array.from({ length: 8 }, writer));
        await collector.waitFor(allCommittedDelivered, LONG_TEST_MS - 10_000);
        const report = log.check();
        console.log(
          formatReport(
            report,
            `${harness.name}: ${aggregates} aggregates x ${perAggregate} events, 8 concurrent writers, relay running (${Date.now() - started} ms)`,
          ),
        );
        expect(report.committed).toBe(aggregates * perAggregate);
        expect(report.lost).toEqual([]);
        expect(report.unexpected).toEqual([]);
        expect(report.orderViolations).toEqual([]);
        expectDeliveryOk(report);
      },
      LONG_TEST_MS,
    );

    it('retries a failing event with backoff, holding back its aggregate only', async () => {
      const [poison] = await write([event('p-1', { destination: `/${uniqueName('okt_missing')}` })]);
      const [behind] = await write([event('p-1')]);
      const [other] = await write([event('q-1')]);
      const first = await relay({ maxAttempts: 5, retryBackoff: { initialMs: 60_000, maxMs: 60_000 } }).drain();
      expect(first).toMatchObject({ published: 1, failed: 1, quarantined: 0 });
      await collector.waitFor((l) => l.wasDelivered(other!.id), WAIT_MS);
      // The failed event is backing off, and the event behind it must not overtake it.
      const second = await relay({ maxAttempts: 5 }).drain();
      expect(second.claimed).toBe(0);
      expect(log.wasDelivered(poison!.id)).toBe(false);
      expect(log.wasDelivered(behind!.id)).toBe(false);
      expect((await db.dialect.status(db.database)).backlog).toBe(2);
    });

    it('quarantines after maxAttempts and parks the aggregate while others flow', async () => {
      const [poison] = await write([event('p-1', { destination: `/${uniqueName('okt_missing')}` })]);
      const [behind] = await write([event('p-1')]);
      const [other] = await write([event('q-1')]);
      const result = await relay({ maxAttempts: 3, retryBackoff: { initialMs: 0, maxMs: 0 } }).drain();
      expect(result).toMatchObject({ published: 1, failed: 2, quarantined: 1 });
      const later = await write([event('q-1', { type: 'order.paid' })]);
      await relay().drain();
      await collector.waitFor((l) => l.wasDelivered(other!.id) && l.wasDelivered(later[0]!.id), WAIT_MS);
      expect(log.wasDelivered(poison!.id)).toBe(false);
      expect(log.wasDelivered(behind!.id)).toBe(false);
      const status = await db.dialect.status(db.database);
      expect(status).toMatchObject({ backlog: 1, quarantined: 1, parkedAggregates: 1 });
    });

    it('dead-letter policy quarantines the event and lets its aggregate continue', async () => {
      const [poison] = await write([event('p-1', { destination: `/${uniqueName('okt_missing')}` })]);
      const [behind] = await write([event('p-1')]);
      const result = await relay({ maxAttempts: 1, poisonPolicy: 'dead-letter' }).drain();
      expect(result.quarantined).toBe(1);
      await collector.waitFor((l) => l.wasDelivered(behind!.id), WAIT_MS);
      expect(log.wasDelivered(poison!.id)).toBe(false);
      expect(await db.dialect.status(db.database)).toMatchObject({ backlog: 0, quarantined: 1, parkedAggregates: 0 });
    });

    /** Written a minute ago, expired a second ago: the relay must never publish it. */
    const expiredEvent = (aggregateId: string, extra: Partial<EventInput> = {}): EventInput =>
      event(aggregateId, { occurredAt: new Date(Date.now() - 60_000), expiresAt: new Date(Date.now() - 1000), ...extra });
    const operator = { by: 'conformance', note: null };

    it('refuses an invalid expiry at write time and writes nothing', async () => {
      await expect(write([event('x-1'), event('x-2', { expiresAt: new Date('nope') })])).rejects.toThrow(/expiresAt: must be a valid Date/);
      await expect(write([event('x-1', { ttlMs: -5 })])).rejects.toThrow(/ttlMs: must be a finite number of milliseconds > 0, got -5/);
      expect((await db.dialect.status(db.database)).backlog).toBe(0);
    });

    it('publishes an unexpired event with its expiry on the wire; quarantines an expired one unpublished and parks its aggregate', async () => {
      const [stale] = await write([expiredEvent('e-1')]);
      const [behind] = await write([event('e-1', { type: 'order.paid' })]);
      const [fresh] = await write([event('f-1', { ttlMs: 600_000 })]);
      const expiredSeen: string[] = [];
      const result = await relay({ observer: { expired: (e, status) => expiredSeen.push(`${e.id} ${status}`) } }).drain();
      expect(result).toMatchObject({ published: 1, quarantined: 1, expired: 1, failed: 0 });
      expect(expiredSeen).toEqual([`${stale!.id} parked`]);
      await collector.waitFor((l) => l.wasDelivered(fresh!.id), WAIT_MS);
      const message = collector.messages.find((m) => m.messageId === fresh!.id)!;
      expect(message.headers?.['x-outbox-expires-at']).toBe(fresh!.expiresAt!.toISOString());
      expect(fresh!.expiresAt!.getTime()).toBe(fresh!.occurredAt.getTime() + 600_000);

      const [entry, ...others] = await db.dialect.listQuarantine(db.database, { includeResolved: false, limit: 10 });
      expect(others).toEqual([]);
      expect(entry).toMatchObject({ id: stale!.id, aggregateId: 'e-1', status: 'parked' });
      expect(entry!.reason).toBe(`expired: the event expired at ${stale!.expiresAt!.toISOString()} before it was published`);
      expect(await db.dialect.status(db.database)).toMatchObject({ backlog: 1, quarantined: 1, parkedAggregates: 1 });
      // The aggregate stays parked: the event behind the expired one is not claimed.
      expect((await relay().drain()).claimed).toBe(0);

      // A plain retry keeps the expiry: the event is quarantined again, never published.
      await db.database.transaction((tx) => resolveQuarantined(db.dialect, tx, stale!.id, 'retried', operator));
      expect(await relay().drain()).toMatchObject({ published: 0, quarantined: 1, expired: 1 });
      expect((await db.dialect.listQuarantine(db.database, { includeResolved: false, limit: 10 })).map((row) => [row.id, row.status])).toEqual([
        [stale!.id, 'parked'],
      ]);

      // Asked explicitly, the retry clears the expiry: the event goes out late, then the one behind it.
      await db.database.transaction((tx) => resolveQuarantined(db.dialect, tx, stale!.id, 'retried', operator, { ignoreExpiry: true }));
      expect(await relay().drain()).toMatchObject({ published: 2, quarantined: 0, expired: 0 });
      await collector.waitFor(allCommittedDelivered, WAIT_MS);
      expect(log.deliveries.filter((d) => d.aggregateId === 'e-1').map((d) => d.id)).toEqual([stale!.id, behind!.id]);
      expect(collector.messages.find((m) => m.messageId === stale!.id)!.headers?.['x-outbox-expires-at']).toBeUndefined();
      expectDeliveryOk(log.check());
      expect(await db.dialect.status(db.database)).toMatchObject({ backlog: 0, quarantined: 0, parkedAggregates: 0 });
    });

    it('dead-letter policy quarantines an expired event and lets its aggregate continue; skip resolves it', async () => {
      const [stale] = await write([expiredEvent('d-1', { ttlMs: 59_000, expiresAt: undefined })]);
      const [behind] = await write([event('d-1', { type: 'order.paid' })]);
      const result = await relay({ poisonPolicy: 'dead-letter' }).drain();
      expect(result).toMatchObject({ quarantined: 1, expired: 1 });
      await collector.waitFor((l) => l.wasDelivered(behind!.id), WAIT_MS);
      expect(log.wasDelivered(stale!.id)).toBe(false);
      const [entry] = await db.dialect.listQuarantine(db.database, { includeResolved: false, limit: 10 });
      expect(entry).toMatchObject({ id: stale!.id, status: 'dead-lettered' });
      expect(entry!.reason).toMatch(/^expired: /);
      expect(await db.dialect.status(db.database)).toMatchObject({ backlog: 0, quarantined: 1, parkedAggregates: 0 });
      const skipped = await db.database.transaction((tx) => resolveQuarantined(db.dialect, tx, stale!.id, 'skipped', { by: 'conformance', note: 'stale' }));
      expect(skipped).toEqual({ outcome: 'done' });
      expect(await db.dialect.status(db.database)).toMatchObject({ quarantined: 0 });
      expect(log.wasDelivered(stale!.id)).toBe(false);
    });

    it('settles a clean batch behind the next claim: with every transaction held open 150 ms, 400 events in batches of 40 are delivered exactly once, in order, and counted', async () => {
      for (let i = 0; i < 20; i++) await write(Array.from({ length: 20 }, () => event(`behind-${i}`)));
      // The claim of the next batch runs while this settle's transaction is still open, so the
      // rows it moves are still pending to every other connection: they must be excluded.
      const slow: SqlDatabase = {
        query: (sql, params) => db.database.query(sql, params),
        transaction: (fn) =>
          db.database.transaction(async (tx) => {
            const result = await fn(tx);
            await new Promise((resolve) => setTimeout(resolve, 150));
            return result;
          }),
        close: async () => undefined,
      };
      const result = await relay({ database: slow, batchSize: 40 }).drain();
      expect(result).toMatchObject({ claimed: 400, published: 400, failed: 0, quarantined: 0, fenced: 0 });
      await collector.waitFor(allCommittedDelivered, WAIT_MS);
      const report = log.check();
      expect(report.duplicateDeliveries).toBe(0);
      expectDeliveryOk(report);
      expect(await db.dialect.status(db.database)).toMatchObject({ backlog: 0 });
    });

    it('two relays split the shards and deliver everything exactly once when nothing fails', async () => {
      const second = await db.openPool();
      const a = relay({ relayId: 'relay-a', leaseTtlMs: 1500 });
      const b = relay({ relayId: 'relay-b', leaseTtlMs: 1500, database: second });
      await a.start();
      await b.start();
      await eventually(() => {
        const owned = [...a.health().ownedShards, ...b.health().ownedShards];
        return a.health().ownedShards.length > 0 && b.health().ownedShards.length > 0 && owned.length === 64 && new Set(owned).size === 64;
      }, 'both relays to own a disjoint half of the 64 shards');
      for (let i = 0; i < 100; i++) await write(Array.from({ length: 20 }, () => event(`s-${i}`)));
      await collector.waitFor(allCommittedDelivered, WAIT_MS);
      const report = log.check();
      console.log(formatReport(report, `${harness.name}: two relays, 100 aggregates x 20 events`));
      expect(report.duplicateDeliveries).toBe(0);
      expectDeliveryOk(report);
      await a.stop();
      await eventually(() => b.health().ownedShards.length === 64, 'the remaining relay to take every shard');
    });

    it('fences a paused relay: after its lease is taken over its marks are refused', async () => {
      const written = await write(Array.from({ length: 20 }, (_, i) => event(`f-${i % 5}`)));
      const gate = new GatedPublisher(publisher());
      const zombie = relay({ relayId: 'relay-zombie', leaseTtlMs: 400, publisher: gate });
      const zombieDrain = zombie.drain();
      await eventually(() => gate.waiting > 0, 'the paused relay to claim a batch');
      await new Promise((resolve) => setTimeout(resolve, 800)); // its lease expires meanwhile
      const successor = await relay({ relayId: 'relay-successor', database: await db.openPool() }).drain();
      expect(successor.published).toBe(written.length);
      gate.open();
      const late = await zombieDrain;
      expect(late.published).toBe(0);
      expect(late.fenced).toBeGreaterThan(0);
      await collector.waitFor(written.length + late.fenced, WAIT_MS);
      const report = log.check();
      console.log(formatReport(report, `${harness.name}: fenced zombie relay`));
      expect(report.duplicateDeliveries).toBe(late.fenced);
      expectDeliveryOk(report);
      expect((await db.dialect.status(db.database)).backlog).toBe(0);
    });

    // A single-writer database serialises transactions, so a commit can never land behind later
    // commits there; everywhere else this is the case a position cursor would skip.
    if (features.concurrentWriters) {
      it('delivers a transaction that commits after 1,000 later events were published', async () => {
        let commitLate!: () => void;
        const held = new Promise<void>((resolve) => {
          commitLate = resolve;
        });
        let lateEvent: WrittenEvent | undefined;
        const lateTx = db.database.transaction(async (tx) => {
          [lateEvent] = await writeEvents(db.dialect, tx, event('late-1'));
          await held;
        });
        await eventually(() => lateEvent !== undefined, 'the late transaction to write its event');
        const running = relay();
        await running.start();
        const pool = await db.openPool();
        for (let i = 0; i < 100; i++)
          await write(
            Array.from({ length: 10 }, (_, j) => event(`early-${i}-${j}`)),
            { database: pool },
          );
        await collector.waitFor(1000, WAIT_MS);
        expect(log.wasDelivered(lateEvent!.id)).toBe(false);
        commitLate();
        await lateTx;
        log.attempted(lateEvent!, 'committed');
        await collector.waitFor(allCommittedDelivered, WAIT_MS);
        expectDeliveryOk(log.check());
      });
    }

    it('stops gracefully and gives up its leases', async () => {
      const running = relay();
      await running.start();
      await write([event('g-1')]);
      await collector.waitFor(allCommittedDelivered, WAIT_MS);
      await running.stop();
      expect(running.health().running).toBe(false);
      expect((await db.dialect.status(db.database)).shardOwners).toEqual([]);
    });
  });
}

async function eventually(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
