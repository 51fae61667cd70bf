import {
  OutboxTransactionRequiredError,
  Relay,
  SHARD_COUNT,
  type Dialect,
  type Envelope,
  type EventInput,
  type InboxDatabase,
  type Publisher,
  type RelayOptions,
  type SqlDatabase,
  type SqlExecutor,
  type WrittenEvent,
} from '@outboxkit/core';
import { createInboxConsumer, createRabbitPublisher, INBOX_HEADERS, type InboxConsumer, type InboxConsumerOptions } from '@outboxkit/rabbitmq';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { allCommittedDelivered, DeliveryLog, expectDeliveryOk, type AttemptedEvent, type DeliveryReport, type WriteOutcome } from '../delivery-checker.js';
import { collectQueue, type QueueCollector } from '../rabbit-collector.js';
import { RabbitTestBed, storedEvent, waitFor } from '../rabbit-testbed.js';
import { serviceUrl, uniqueName } from '../services.js';

/** Generous: a bound on a hung broker, never a performance claim. */
const WAIT_MS = 60_000;

/**
 * What an ORM plugin does differently from others. The suite reads these, never the ORM's
 * name: a case that needs a feature runs only for adapters that declare it.
 */
export interface OrmAdapterFeatures {
  /** The ORM nests transactions (savepoints) and the plugin writes in them; `nested` runs one. */
  readonly nestedTransactions: boolean;
  /**
   * The plugin's write can be called with no transaction at all, and must then refuse;
   * `writeWithoutTransaction` makes that call. False when the API cannot express such a call
   * (MikroORM queues events on a unit of work whose flush always opens a transaction).
   */
  readonly callableOutsideTransaction: boolean;
  /** The plugin's write resolves to `WrittenEvent`s with the sequence the database gave each event. */
  readonly returnsSequences: boolean;
}

/**
 * One isolated database with an ORM on it, set up with the plugin: the outbox and inbox tables
 * migrated, and one business table whose rows the suite writes and counts by a string key
 * (unique: writing a key twice fails). `Tx` is the ORM's transaction handle: Prisma's
 * interactive-transaction client, MikroORM's transactional EntityManager, Sequelize's
 * `Transaction`, a Knex `trx`...
 */
export interface OrmTestDatabase<Tx> {
  /** The dialect the plugin writes with; the suite's relays read the same tables with it. */
  readonly dialect: Dialect;
  /** The relay's own pool on those tables, apart from every ORM connection. */
  readonly database: SqlDatabase;
  /** The ORM's handle outside any transaction (client, global EntityManager, instance): never a delivery's handle. */
  readonly root: unknown;
  /** Runs `work` in one ORM transaction: commits when it resolves, rolls back and rethrows when it throws. */
  transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs `work` in a transaction nested in `tx` (a savepoint). Required with `features.nestedTransactions`. */
  nested?<T>(tx: Tx, work: (nestedTx: Tx) => Promise<T>): Promise<T>;
  /** Writes the business row `key` through the ORM in `tx`; it commits or rolls back with `tx`. */
  insertRow(tx: Tx, key: string): Promise<void>;
  /** Business rows with `key`: committed ones, or with `tx` what that transaction sees. */
  countRows(key: string, tx?: Tx): Promise<number>;
  /**
   * Writes events through the plugin's API in `tx`, in order; when it resolves they are written
   * in the transaction (an ORM with a unit of work flushes). Resolves to what the plugin returns.
   */
  writeEvents(tx: Tx, events: readonly EventInput[]): Promise<readonly Envelope[]>;
  /** The plugin's write with no transaction. Required with `features.callableOutsideTransaction`. */
  writeWithoutTransaction?(events: readonly EventInput[]): unknown;
  /** The plugin's inbox seam (`prismaInbox(client)`, ...), whose handlers get a `Tx`. */
  inbox(): InboxDatabase<Tx>;
  /** Closes the ORM and the pool, drops what setup created. */
  dispose(): Promise<void>;
}

/** What an ORM plugin's test file gives {@link describeOrmAdapterConformance}, per database. */
export interface OrmAdapter<Tx> {
  /** For the test names, e.g. `Prisma on PostgreSQL`. */
  readonly name: string;
  readonly features: OrmAdapterFeatures;
  setup(): Promise<OrmTestDatabase<Tx>>;
}

/**
 * The checks of one test's deliveries: a fresh exchange and queue on RabbitMQ, a log the test
 * records its writes in (with how their transaction ended), and relays on the test's outbox
 * tables whose deliveries the log judges. The suite uses one per case; plugin tests of
 * ORM-specific behaviour use it the same way.
 */
export class DeliveryBench {
  readonly #relays: Relay[] = [];
  readonly #publishers: Publisher[] = [];

  private constructor(
    private readonly target: { readonly dialect: Dialect; readonly database: SqlDatabase },
    private readonly brokerUrl: string,
    private readonly exchange: string,
    /** What the writes and the deliveries of this test were; the collector records into it. */
    readonly log: DeliveryLog,
    readonly collector: QueueCollector,
  ) {}

  static async open(target: { readonly dialect: Dialect; readonly database: SqlDatabase }): Promise<DeliveryBench> {
    const brokerUrl = await serviceUrl('rabbitmq');
    const exchange = uniqueName('okorm_x');
    const log = new DeliveryLog();
    const collector = await collectQueue({
      url: brokerUrl,
      queue: uniqueName('okorm_q'),
      declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
      log,
    });
    return new DeliveryBench(target, brokerUrl, exchange, log, collector);
  }

  /**
   * A fresh bench for each test of the calling `describe`, on the tables `target()` names (read
   * before each test, so a `beforeAll` may set them up): opened before the test, closed after it,
   * with the check that the test left the outbox empty, so the next one counts from zero. Returns
   * the current test's bench.
   *
   * @example
   * const bench = DeliveryBench.eachTest(() => ({ dialect: db.dialect, database: db.relayDatabase }));
   * it('delivers', async () => { bench().record(written, 'committed'); await bench().deliverAndCheck(); });
   */
  static eachTest(target: () => { readonly dialect: Dialect; readonly database: SqlDatabase }): () => DeliveryBench {
    let current: DeliveryBench | undefined;
    beforeEach(async () => {
      current = await DeliveryBench.open(target());
    });
    afterEach(async () => {
      await current?.close();
      current = undefined;
      const { dialect, database } = target();
      expect(Number(await dialect.countPending(database)), 'events left pending by the test').toBe(0);
    });
    return () => {
      if (current === undefined) throw new Error('DeliveryBench.eachTest: the bench exists only while a test runs');
      return current;
    };
  }

  /** Records written events with how their transaction ended. */
  record(events: readonly AttemptedEvent[], outcome: WriteOutcome): void {
    for (const event of events) this.log.attempted(event, outcome);
  }

  /** A relay on the test's tables publishing to this bench's exchange; stopped by {@link close}. */
  relay(options: Partial<RelayOptions> = {}): Relay {
    const publisher = createRabbitPublisher({ connection: this.brokerUrl, exchange: this.exchange });
    this.#publishers.push(publisher);
    const relay = new Relay({
      dialect: this.target.dialect,
      database: this.target.database,
      publisher,
      pollIntervalMs: 50,
      leaseTtlMs: 3000,
      wakeSources: [],
      ...options,
    });
    this.#relays.push(relay);
    return relay;
  }

  /**
   * Publishes everything pending with a relay, waits until every committed event arrived, and
   * checks that nothing committed was lost and nothing else (a rolled-back event) arrived.
   */
  async deliverAndCheck(): Promise<{ drained: Awaited<ReturnType<Relay['drain']>>; report: DeliveryReport }> {
    const drained = await this.relay().drain();
    await this.collector.waitFor(allCommittedDelivered, WAIT_MS);
    const report = this.log.check();
    expect(report.lost).toEqual([]);
    expect(report.unexpected).toEqual([]);
    expectDeliveryOk(report);
    return { drained, report };
  }

  /** The decoded JSON body of the delivered message with id `id`. */
  bodyOf(id: string): unknown {
    const message = this.collector.messages.find((m) => m.messageId === id);
    expect(message, `message ${id} was delivered`).toBeDefined();
    const body = message!.body;
    return JSON.parse(body instanceof Buffer ? body.toString() : JSON.stringify(body));
  }

  async close(): Promise<void> {
    await Promise.all(this.#relays.splice(0).map((relay) => relay.stop()));
    await Promise.all(this.#publishers.splice(0).map((publisher) => publisher.close()));
    await this.collector.close();
  }
}

/** The stored sequence of each event, read back from the pending table, in the order given. */
async function storedSequences(db: OrmTestDatabase<unknown>, events: readonly Envelope[]): Promise<number[]> {
  const shards = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);
  const stored = await db.dialect.claim(db.database, shards, 10_000);
  const sequenceOf = new Map(stored.map((event) => [event.id, event.sequence]));
  return events.map((event) => sequenceOf.get(event.id) ?? -1);
}

/**
 * The ORM-adapter conformance suite: what every ORM plugin must guarantee, checked against the
 * real database through the real ORM, with the real relay and RabbitMQ. Run it from each of the
 * plugin's per-database test files:
 *
 * @example
 * describeOrmAdapterConformance(prismaAdapter('PostgreSQL', setupPostgres));
 *
 * Cases: the same-transaction write; rollback leaves neither row nor event; a write outside a
 * transaction fails loudly; nested transactions; many events of one transaction in sequence
 * order; the local wake-up after commit only; and the inbox: a redelivered message applied
 * once with the handler's writes, a failing handler rolling its writes back, a handler emitting
 * events, concurrent deliveries each in a transaction of its own.
 */
export function describeOrmAdapterConformance<Tx>(adapter: OrmAdapter<Tx>): void {
  const { features } = adapter;
  describe(`ORM adapter conformance: ${adapter.name}`, () => {
    let db: OrmTestDatabase<Tx>;
    let inbox: InboxDatabase<Tx>;
    let bed: RabbitTestBed;
    let bench: DeliveryBench;
    const consumers: InboxConsumer[] = [];

    beforeAll(async () => {
      bed = new RabbitTestBed(await serviceUrl('rabbitmq'));
      db = await adapter.setup();
      inbox = db.inbox();
      if (features.nestedTransactions) expect(db.nested, 'features.nestedTransactions needs nested()').toBeTypeOf('function');
      if (features.callableOutsideTransaction)
        expect(db.writeWithoutTransaction, 'features.callableOutsideTransaction needs writeWithoutTransaction()').toBeTypeOf('function');
    });

    afterAll(async () => {
      await bed?.close();
      await db?.dispose();
    });

    beforeEach(async () => {
      bench = await DeliveryBench.open(db);
    });

    afterEach(async () => {
      for (const consumer of consumers.splice(0)) await consumer.close();
      await bench.close();
      // Every case leaves the outbox empty, so the next one counts from zero.
      expect(await pending()).toBe(0);
    });

    const pending = async (): Promise<number> => Number(await db.dialect.countPending(db.database));
    const executorIn = (tx: Tx): SqlExecutor => inbox.executor?.(tx) ?? (tx as unknown as SqlExecutor);
    const placed = (key: string, n: number, type = 'order.placed'): EventInput => ({ aggregateType: 'order', aggregateId: key, type, payload: { key, n } });

    it('same transaction: the business row and its events commit together, and the relay delivers the events', async () => {
      const key = uniqueName('same');
      let pendingOutside = -1;
      const written = await db.transaction(async (tx) => {
        await db.insertRow(tx, key);
        const events = await db.writeEvents(tx, [placed(key, 1), placed(key, 2, 'order.noted')]);
        // Not visible outside the transaction: the events were not written in auto-commit mode.
        pendingOutside = await pending();
        return events;
      });
      bench.record(written, 'committed');
      expect(pendingOutside).toBe(0);
      expect(await db.countRows(key)).toBe(1);
      expect(await pending()).toBe(2);
      expect(await storedSequences(db, written)).toEqual([1, 2]);
      if (features.returnsSequences) expect(written.map((event) => (event as WrittenEvent).sequence)).toEqual([1, 2]);

      const { drained } = await bench.deliverAndCheck();
      expect(drained).toMatchObject({ claimed: 2, published: 2, failed: 0 });
      expect(bench.collector.messages.find((m) => m.messageId === written[0]!.id)?.type).toBe('order.placed');
      expect(bench.bodyOf(written[0]!.id)).toEqual({ key, n: 1 });
      expect((await db.dialect.status(db.database)).backlog).toBe(0);
    });

    it('rollback: a transaction that throws after writing leaves neither the business row nor the events', async () => {
      const key = uniqueName('rollback');
      const failure = new Error('rolled back by the test');
      let written: readonly Envelope[] = [];
      let visibleInside = -1;
      await expect(
        db.transaction(async (tx) => {
          await db.insertRow(tx, key);
          written = await db.writeEvents(tx, [placed(key, 1)]);
          // The event is in the transaction: visible on its own connection before the rollback.
          visibleInside = Number(await db.dialect.countPending(executorIn(tx)));
          throw failure;
        }),
      ).rejects.toBe(failure);
      bench.record(written, 'rolled-back');
      expect(written).toHaveLength(1);
      expect(visibleInside).toBe(1);
      expect(await db.countRows(key)).toBe(0);
      expect(await pending()).toBe(0);

      // A committed neighbour proves the relay ran and would have seen a leaked event.
      const kept = await db.transaction((tx) => db.writeEvents(tx, [placed(uniqueName('kept'), 1)]));
      bench.record(kept, 'committed');
      const { drained, report } = await bench.deliverAndCheck();
      expect(drained.claimed).toBe(1);
      expect(report.rolledBack).toBe(1);
      expect(bench.log.wasDelivered(written[0]!.id)).toBe(false);
    });

    if (features.callableOutsideTransaction) {
      it('outside a transaction: the write fails loudly with OutboxTransactionRequiredError and writes nothing', async () => {
        const key = uniqueName('none');
        await expect(Promise.resolve().then(() => db.writeWithoutTransaction!([placed(key, 1)]))).rejects.toBeInstanceOf(OutboxTransactionRequiredError);
        expect(await pending()).toBe(0);
      });
    }

    if (features.nestedTransactions) {
      it('nested transactions: a rolled-back savepoint takes its row and events along, a released one commits with the outer transaction', async () => {
        const [outer, inner, released] = [uniqueName('outer'), uniqueName('inner'), uniqueName('released')];
        const failure = new Error('inner unit fails');
        let rolledBack: readonly Envelope[] = [];
        let pendingOutside = -1;
        const written = await db.transaction(async (tx) => {
          await db.insertRow(tx, outer);
          const own = await db.writeEvents(tx, [placed(outer, 1)]);
          await expect(
            db.nested!(tx, async (nestedTx) => {
              await db.insertRow(nestedTx, inner);
              rolledBack = await db.writeEvents(nestedTx, [placed(inner, 1)]);
              throw failure;
            }),
          ).rejects.toBe(failure);
          const fromSavepoint = await db.nested!(tx, (nestedTx) => db.writeEvents(nestedTx, [placed(released, 1)]));
          // Releasing a savepoint commits nothing: the events wait for the outer commit.
          pendingOutside = await pending();
          return [...own, ...fromSavepoint];
        });
        bench.record(written, 'committed');
        bench.record(rolledBack, 'rolled-back');
        expect(rolledBack).toHaveLength(1);
        expect(pendingOutside).toBe(0);
        expect(await db.countRows(outer)).toBe(1);
        expect(await db.countRows(inner)).toBe(0);
        expect(await pending()).toBe(2);
        await bench.deliverAndCheck();
        expect(bench.log.wasDelivered(rolledBack[0]!.id)).toBe(false);
      });
    }

    it('many events in one transaction: 100 events of one aggregate get sequences 1..100 and are delivered in that order', async () => {
      const key = uniqueName('many');
      const written = await db.transaction(async (tx) => {
        await db.insertRow(tx, key);
        const first = await db.writeEvents(tx, [placed(key, 1)]);
        const rest = await db.writeEvents(
          tx,
          Array.from({ length: 99 }, (_, i) => placed(key, i + 2, 'order.line-added')),
        );
        return [...first, ...rest];
      });
      bench.record(written, 'committed');
      const sequences = Array.from({ length: 100 }, (_, i) => i + 1);
      expect(written).toHaveLength(100);
      expect(await storedSequences(db, written)).toEqual(sequences);
      if (features.returnsSequences) expect(written.map((event) => (event as WrittenEvent).sequence)).toEqual(sequences);

      const { drained, report } = await bench.deliverAndCheck();
      expect(drained.published).toBe(100);
      expect(report.orderViolations).toEqual([]);
    });

    it('local wake-up: relays in this process are woken once per commit that wrote events, never before it, never for rollbacks or transactions without events', async () => {
      // A poll interval far longer than the test: only a wake-up makes the relay publish.
      const running = bench.relay({ pollIntervalMs: 600_000, wakeSources: undefined });
      const wake = vi.spyOn(running, 'wake');
      await running.start();

      const first = await db.transaction(async (tx) => {
        await db.insertRow(tx, uniqueName('wake'));
        const events = await db.writeEvents(tx, [placed(uniqueName('wake'), 1)]);
        expect(wake).not.toHaveBeenCalled();
        return events;
      });
      expect(wake).toHaveBeenCalledTimes(1);
      bench.record(first, 'committed');
      await bench.collector.waitFor(allCommittedDelivered, WAIT_MS);

      // Several writes in one transaction: one wake-up, at its commit.
      const several = await db.transaction(async (tx) => {
        const events: Envelope[] = [];
        for (let i = 0; i < 3; i++) events.push(...(await db.writeEvents(tx, [placed(uniqueName('wake'), i)])));
        return events;
      });
      expect(wake).toHaveBeenCalledTimes(2);
      bench.record(several, 'committed');

      await db.transaction((tx) => db.insertRow(tx, uniqueName('quiet')));
      expect(wake).toHaveBeenCalledTimes(2);
      await expect(
        db.transaction(async (tx) => {
          bench.record(await db.writeEvents(tx, [placed(uniqueName('never'), 1)]), 'rolled-back');
          throw new Error('rolled back');
        }),
      ).rejects.toThrow('rolled back');
      expect(wake).toHaveBeenCalledTimes(2);

      if (features.nestedTransactions) {
        // A nested transaction releases a savepoint, not a commit: one wake-up, after the outer commit.
        const nested = await db.transaction(async (tx) => {
          const inner = await db.nested!(tx, async (nestedTx) => {
            await db.insertRow(nestedTx, uniqueName('nested'));
            return db.writeEvents(nestedTx, [placed(uniqueName('nested'), 1)]);
          });
          expect(wake).toHaveBeenCalledTimes(2);
          return inner;
        });
        expect(wake).toHaveBeenCalledTimes(3);
        bench.record(nested, 'committed');
      }
      await bench.collector.waitFor(allCommittedDelivered, WAIT_MS);
      expectDeliveryOk(bench.log.check());
    });

    /** An inbox consumer on a fresh queue with the plugin's inbox seam; `errors` collects what its observer reports. */
    async function consume(
      queue: string,
      handler: (event: { id: string }, tx: Tx) => Promise<void>,
      options: Partial<InboxConsumerOptions<Tx>> = {},
    ): Promise<{ consumer: InboxConsumer; errors: unknown[]; failedAttempts: number[] }> {
      const errors: unknown[] = [];
      const failedAttempts: number[] = [];
      const consumer = createInboxConsumer({
        connection: bed.connection,
        queue,
        consumer: `c_${queue}`,
        db: inbox,
        dialect: db.dialect,
        handler,
        retryDelayMs: 10,
        // A duplicate the dialect failed to recognise would be reported here and requeued forever.
        observer: { onError: (error) => errors.push(error), onFailed: ({ attempt }) => failedAttempts.push(attempt) },
        ...options,
      });
      consumers.push(consumer);
      await consumer.ready();
      return { consumer, errors, failedAttempts };
    }

    const settled = (consumer: InboxConsumer): number => consumer.stats().processed + consumer.stats().duplicates;

    it("inbox: a message delivered three times is applied once, with the handler's write, and counted as two duplicates", async () => {
      const queue = await bed.declare(uniqueName('okorm_inbox'));
      const event = storedEvent({ aggregateId: uniqueName('dup') });
      for (let i = 0; i < 3; i++) await bed.publish(queue, event);
      const runs: string[] = [];
      const { consumer, errors } = await consume(queue, async (delivered, tx) => {
        runs.push(delivered.id);
        await db.insertRow(tx, delivered.id);
      });

      await waitFor('3 deliveries or an error', () => errors.length > 0 || settled(consumer) === 3);

      expect(errors).toEqual([]);
      expect(consumer.stats()).toMatchObject({ processed: 1, duplicates: 2, failed: 0, deadLettered: 0 });
      expect(runs).toEqual([event.id]);
      expect(await db.countRows(event.id)).toBe(1);
      expect(await db.dialect.inboxContains(db.database, `c_${queue}`, [event.id])).toEqual([event.id]);
      expect(await bed.messageCount(queue)).toBe(0);
    });

    it('inbox: a handler that throws after its write leaves neither the row nor the inbox key; retried, then dead-lettered', async () => {
      const queue = await bed.declare(uniqueName('okorm_inbox'));
      const event = storedEvent({ aggregateId: uniqueName('poison') });
      await bed.publish(queue, event);
      const visibleInTx: number[] = [];
      const { consumer, errors, failedAttempts } = await consume(
        queue,
        async (delivered, tx) => {
          await db.insertRow(tx, delivered.id);
          // The row is in the transaction: visible to it before the rollback.
          visibleInTx.push(await db.countRows(delivered.id, tx));
          throw new Error(`cannot invoice ${delivered.id}`);
        },
        { maxAttempts: 3 },
      );

      await waitFor('the dead letter', () => consumer.stats().deadLettered === 1);

      expect(errors).toEqual([]);
      expect(failedAttempts).toEqual([1, 2, 3]);
      expect(visibleInTx).toEqual([1, 1, 1]);
      expect(consumer.stats()).toMatchObject({ processed: 0, duplicates: 0, failed: 3, deadLettered: 1 });
      expect(await db.countRows(event.id)).toBe(0);
      expect(await db.dialect.inboxContains(db.database, `c_${queue}`, [event.id])).toEqual([]);
      const dead = await bed.get(`${queue}.dead`);
      expect(dead?.messageId).toBe(event.id);
      expect(dead?.headers?.[INBOX_HEADERS.attempts]).toBe(3);
      expect(dead?.headers?.[INBOX_HEADERS.error]).toBe(`Error: cannot invoice ${event.id}`);
      expect(await bed.get(`${queue}.dead`)).toBeUndefined();
    });

    it('inbox: events a handler writes through the plugin commit with its effect and the inbox row, once', async () => {
      const queue = await bed.declare(uniqueName('okorm_inbox'));
      const event = storedEvent({ aggregateId: uniqueName('chain') });
      for (let i = 0; i < 2; i++) await bed.publish(queue, event);
      const emitted: Envelope[] = [];
      const { consumer, errors } = await consume(queue, async (delivered, tx) => {
        await db.insertRow(tx, delivered.id);
        const invoice: EventInput = { aggregateType: 'invoice', aggregateId: delivered.id, type: 'invoice.issued', payload: { orderNumber: delivered.id } };
        emitted.push(...(await db.writeEvents(tx, [invoice])));
      });

      await waitFor('2 deliveries or an error', () => errors.length > 0 || settled(consumer) === 2);

      expect(errors).toEqual([]);
      expect(consumer.stats()).toMatchObject({ processed: 1, duplicates: 1 });
      expect(await db.countRows(event.id)).toBe(1);
      expect(emitted).toHaveLength(1);
      expect(await pending()).toBe(1);
      bench.record(emitted, 'committed');
      await bench.deliverAndCheck();
    });

    it('inbox: concurrent deliveries are each applied once, each in a transaction of its own', async () => {
      const queue = await bed.declare(uniqueName('okorm_inbox'));
      const events = Array.from({ length: 8 }, (_, i) => storedEvent({ aggregateId: uniqueName(`concurrent${i}`) }));
      for (const event of [...events, ...events]) await bed.publish(queue, event);
      const handles = new Set<unknown>();
      let runs = 0;
      // The consumer's default concurrency (several deliveries in flight).
      const { consumer, errors } = await consume(queue, async (delivered, tx) => {
        runs++;
        handles.add(tx);
        await db.insertRow(tx, delivered.id);
      });

      await waitFor('16 deliveries or an error', () => errors.length > 0 || settled(consumer) === 16);

      expect(errors).toEqual([]);
      expect(consumer.stats()).toMatchObject({ processed: 8, duplicates: 8, failed: 0 });
      expect(runs).toBe(8);
      expect(handles.size).toBe(8);
      expect(handles.has(db.root)).toBe(false);
      for (const event of events) expect(await db.countRows(event.id)).toBe(1);
    });
  });
}
