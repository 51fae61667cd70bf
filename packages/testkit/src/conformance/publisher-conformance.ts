import {
  MESSAGE_HEADERS,
  PublishError,
  Relay,
  writeEvents,
  type EventInput,
  type Publisher,
  type RelayOptions,
  type StoredEvent,
  type WrittenEvent,
} from '@outboxkit/core';
import { afterEach, describe, expect, it } from 'vitest';
import { allCommittedDelivered, type DeliveryLog, expectDeliveryOk, formatReport } from '../delivery-checker.js';
import type { MessageCollector } from '../message-collector.js';
import { storedEvent, waitFor } from '../rabbit-testbed.js';
import { GatedPublisher } from './gated-publisher.js';
import type { ConformanceDatabase } from './harness.js';
import type { PrivateBroker, PublisherBed, PublisherHarness, TestPublisherOptions } from './publisher-harness.js';

const WAIT_MS = 60_000;
/** Cases with a private broker start one (RabbitMQ takes ~10 s) and restart it. */
const BROKER_TEST_MS = 180_000;
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

/**
 * The publisher conformance suite: what every {@link Publisher} must do, checked against the
 * real broker (and, for the ordering, crash and outage cases, through the real relay). Call it
 * from a test file of the publisher package:
 *
 * @example
 * describePublisherConformance(natsHarness);
 *
 * What a broker adds (broker-side dedupe, returns of unroutable messages, ...) is declared in
 * `harness.features`, never read from its name.
 */
export function describePublisherConformance(harness: PublisherHarness): void {
  const { features } = harness;
  describe(`publisher conformance: ${harness.name}`, () => {
    const cleanups: (() => Promise<unknown>)[] = [];
    /** Registers `close` to run after this test, last registered first. */
    function track<T>(value: T, close: (value: T) => Promise<unknown>): T {
      cleanups.push(() => close(value));
      return value;
    }

    afterEach(async () => {
      for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch((error: unknown) => console.error('conformance cleanup failed:', error));
    });

    async function bed(url?: string): Promise<PublisherBed> {
      return track(await harness.setup(url), (b) => b.dispose());
    }
    async function collector(on: PublisherBed): Promise<MessageCollector> {
      return track(await on.collect(), (c) => c.close());
    }
    function publisher(on: PublisherBed, options?: TestPublisherOptions): Publisher {
      return track(on.publisher(options), (p) => p.close());
    }
    async function privateBroker(): Promise<PrivateBroker> {
      return track(await harness.startBroker(), (b) => {
        b.resume();
        return b.dispose();
      });
    }
    async function database(): Promise<ConformanceDatabase> {
      return track(await harness.database(), (d) => d.dispose());
    }
    function relay(db: ConformanceDatabase, options: Partial<RelayOptions> & Pick<RelayOptions, 'publisher'>): Relay {
      return track(new Relay({ dialect: db.dialect, database: db.database, pollIntervalMs: 50, leaseTtlMs: 3000, wakeSources: [], ...options }), (r) =>
        r.stop(),
      );
    }

    const durable = features.durableBroker !== false;
    it(
      durable
        ? 'publish resolves only once the broker stored the message: confirmed messages survive a broker SIGKILL'
        : 'publish resolves only once the broker stored the message: every confirmed message is delivered (the emulator keeps nothing across a crash)',
      async () => {
        const broker = await privateBroker();
        const target = await bed(broker.url);
        const seen = await collector(target);
        const out = publisher(target, { timeoutMs: 5000 });
        const events = Array.from({ length: 30 }, (_, i) => storedEvent({ aggregateId: `d-${i % 6}` }, Math.floor(i / 6) + 1));
        await Promise.all(events.map((event) => out.publish(event)));
        if (durable) {
          // Killed the moment the last confirm arrived: whatever was confirmed must be on disk.
          await broker.kill();
          await broker.start();
        }
        await seen.waitFor((log) => events.every((event) => log.wasDelivered(event.id)), WAIT_MS);
        expect(new Set(seen.log.deliveries.map((d) => d.id))).toEqual(new Set(events.map((e) => e.id)));
      },
      BROKER_TEST_MS,
    );

    it(
      'a frozen broker fails the publish as a transient timeout instead of resolving it',
      async () => {
        const broker = await privateBroker();
        const target = await bed(broker.url);
        await collector(target);
        const out = publisher(target, { timeoutMs: 1500 });
        await out.publish(storedEvent());
        broker.pause();
        const error = await failure(out.publish(storedEvent({ aggregateId: 'frozen' })));
        broker.resume();
        expect(error.permanent).toBe(false);
        expect(['timeout', 'connection']).toContain(error.reason);
      },
      BROKER_TEST_MS,
    );

    it('classifies failures: too large and broken destinations are permanent, an unreachable broker transient', async () => {
      const target = await bed();
      const small = publisher(target, { maxMessageBytes: 1024 });
      const oversized = await failure(small.publish(storedEvent({ payload: { blob: 'x'.repeat(2048) } })));
      expect(oversized).toMatchObject({ reason: 'too-large', permanent: true });
      expect(oversized.message).toMatch(/maxMessageBytes/);

      if (features.brokerMaxMessageBytes !== null) {
        const blob = 'x'.repeat(features.brokerMaxMessageBytes + 1);
        const overBroker = await failure(publisher(target).publish(storedEvent({ payload: { blob } })));
        expect(overBroker).toMatchObject({ reason: 'too-large', permanent: true });
      }
      if (features.missingDestination) {
        const strict = publisher(target, { strictDestinations: true });
        const missing = await failure(strict.publish(storedEvent({ destination: target.missingDestination! })));
        expect(missing).toMatchObject({ reason: 'invalid-destination', permanent: true });
      }
      if (features.unroutable) {
        const unroutable = await failure(publisher(target).publish(storedEvent({ destination: target.unroutableDestination! })));
        expect(unroutable).toMatchObject({ reason: 'unroutable', permanent: true });
      }

      const nowhere = publisher(target, { url: harness.unreachableUrl, timeoutMs: 5000 });
      const unreachable = await failure(nowhere.publish(storedEvent()));
      expect(unreachable.permanent).toBe(false);
      expect(['connection', 'timeout']).toContain(unreachable.reason);
      expect(nowhere.isConnected()).toBe(false);
      if (features.urlCredentials !== false) {
        const password = new URL(harness.unreachableUrl).password;
        expect(password.length).toBeGreaterThan(2);
        expect(`${unreachable.message} ${String((unreachable.cause as Error | undefined)?.message)}`).not.toContain(password);
      }

      const closed = publisher(target);
      await closed.close();
      const afterClose = await failure(closed.publish(storedEvent()));
      expect(afterClose.permanent).toBe(false);
    });

    // The relay asks connected() at start: a broker it cannot reach is warned about at once and
    // the relay holds no shards (BrokerGate), so the answer must come quickly and say why.
    it('connected(): resolves on the broker; an unreachable one rejects with the reason (transient, no password)', async () => {
      const target = await bed();
      const reachable = publisher(target);
      expect(typeof reachable.connected).toBe('function');
      await reachable.connected!(AbortSignal.timeout(WAIT_MS));
      expect(reachable.isConnected()).toBe(true);

      const nowhere = publisher(target, { url: harness.unreachableUrl });
      const refused = await failure(nowhere.connected!(AbortSignal.timeout(WAIT_MS)));
      expect(refused).toMatchObject({ reason: 'connection', permanent: false });
      expect(refused.message).toMatch(/ECONNREFUSED|refused/i);
      expect(refused.message).toContain('127.0.0.1');
      // A broker whose URLs carry no credentials (features.urlCredentials false) has no password to leak.
      if (features.urlCredentials !== false) expect(refused.message).not.toContain(new URL(harness.unreachableUrl).password);
      expect(nowhere.isConnected()).toBe(false);
    });

    it('carries the event id, aggregate, sequence, headers and trace context in standard places', async () => {
      const target = await bed();
      const seen = await collector(target);
      const event = storedEvent({ headers: { traceparent: TRACEPARENT, 'x-tenant': 'acme' }, payload: { total: 42, note: 'ünïcode' } }, 7);
      const out = publisher(target);
      await out.publish(event);
      expect(out.isConnected()).toBe(true);
      await seen.waitFor(1, WAIT_MS);
      const [message] = seen.messages;
      expect(message!.headers).toMatchObject({
        [MESSAGE_HEADERS.eventId]: event.id,
        [MESSAGE_HEADERS.aggregateType]: event.aggregateType,
        [MESSAGE_HEADERS.aggregateId]: event.aggregateId,
        [MESSAGE_HEADERS.sequence]: '7',
        [MESSAGE_HEADERS.occurredAt]: event.occurredAt.toISOString(),
        'x-tenant': 'acme',
      });
      if (message!.nativeId !== undefined) expect(message!.nativeId).toBe(event.id);
      // Without an OpenTelemetry SDK the writer's context goes out as it is; with one, the publish
      // span replaces the span id but keeps the trace.
      expect(message!.headers.traceparent?.split('-')[1]).toBe(TRACEPARENT.split('-')[1]);
      expect(JSON.parse(message!.body)).toEqual(event.payload);
    });

    it('close() waits for the publishes in flight', async () => {
      const target = await bed();
      const seen = await collector(target);
      const out = target.publisher();
      const events = Array.from({ length: 40 }, (_, i) => storedEvent({ aggregateId: `c-${i}` }));
      const settled: string[] = [];
      const publishes = events.map((event) => out.publish(event).then(() => settled.push(event.id)));
      await out.close();
      expect(settled.length).toBe(events.length);
      await Promise.all(publishes);
      await seen.waitFor(events.length, WAIT_MS);
    });

    it(`a re-published event id is ${features.brokerDedupe ? 'dropped by the broker' : 'delivered again with the same id'}`, async () => {
      const target = await bed();
      const seen = await collector(target);
      const out = publisher(target);
      const event = storedEvent();
      await out.publish(event);
      await out.publish(event);
      const marker = storedEvent({ aggregateId: 'marker' });
      await out.publish(marker);
      await seen.waitFor((log) => log.wasDelivered(marker.id), WAIT_MS);
      if (!features.brokerDedupe) await seen.waitFor(3, WAIT_MS);
      expect(seen.log.deliveries.filter((d) => d.id === event.id).length).toBe(features.brokerDedupe ? 1 : 2);
    });

    describe('through the real relay', () => {
      async function write(db: ConformanceDatabase, log: DeliveryLog, events: readonly EventInput[]): Promise<WrittenEvent[]> {
        const written = await db.database.transaction((tx) => writeEvents(db.dialect, tx, events));
        for (const event of written) log.attempted(event, 'committed');
        return written;
      }
      const input = (aggregateId: string, n: number): EventInput => ({ aggregateType: 'account', aggregateId, type: 'account.credited', payload: { n } });

      it('keeps per-aggregate order of first deliveries with concurrent writers', async () => {
        const db = await database();
        const target = await bed();
        const seen = await collector(target);
        const running = relay(db, { publisher: publisher(target), batchSize: 200 });
        await running.start();
        const queue = Array.from({ length: 1000 }, (_, i) => i);
        const writer = async (): Promise<void> => {
          for (let n = queue.shift(); n !== undefined; n = queue.shift()) await write(db, seen.log, [input(`o-${n % 40}`, n)]);
        };
        await Promise.all(Array.from({ length: 4 }, writer));
        await seen.waitFor(allCommittedDelivered, WAIT_MS);
        const report = seen.log.check();
        console.log(formatReport(report, `${harness.name}: 40 aggregates x 25 events through the relay`));
        expect(report.lost).toEqual([]);
        expect(report.unexpected).toEqual([]);
        expect(report.duplicated).toEqual([]);
        expect(report.orderViolations).toEqual([]);
        expect(report.withoutSequence).toBe(0);
        expectDeliveryOk(report);
      });

      it(
        'broker down: publishes fail as transient, nothing is marked, everything goes out once it is back',
        async () => {
          const broker = await privateBroker();
          const db = await database();
          const target = await bed(broker.url);
          const seen = await collector(target);
          const failures: boolean[] = [];
          const out = publisher(target, { timeoutMs: 2000 });
          const relayOptions = {
            publisher: out,
            retryBackoff: { initialMs: 0, maxMs: 0 },
            observer: { failed: (_: StoredEvent, __: unknown, permanent: boolean) => void failures.push(permanent) },
          };
          // Connected and publishing before the broker goes away.
          await write(db, seen.log, [input('b-0', -1)]);
          expect((await relay(db, relayOptions).drain()).published).toBe(1);
          // An emulator without durability loses what is still queued when it is killed.
          if (!durable) await seen.waitFor(1, WAIT_MS);
          await broker.kill();
          const written = await write(
            db,
            seen.log,
            Array.from({ length: 20 }, (_, i) => input(`b-${i % 4}`, i)),
          );
          const down = await relay(db, relayOptions).drain();
          expect(down).toMatchObject({ published: 0, failed: 0, quarantined: 0, transient: true });
          expect(failures.length).toBeGreaterThan(0);
          expect(failures.every((permanent) => !permanent)).toBe(true);
          expect(await db.dialect.status(db.database)).toMatchObject({ backlog: written.length, quarantined: 0 });
          await broker.start();
          let published = 0;
          for (let round = 0; round < 200 && published < written.length; round++) {
            published += (await relay(db, relayOptions).drain()).published;
            if (published < written.length) await new Promise((resolve) => setTimeout(resolve, 250));
          }
          expect(published).toBe(written.length);
          expect(out.isConnected()).toBe(true);
          await seen.waitFor(allCommittedDelivered, WAIT_MS);
          expectDeliveryOk(seen.log.check());
          expect((await db.dialect.status(db.database)).backlog).toBe(0);
        },
        BROKER_TEST_MS,
      );

      it(`duplicates after a relay crash are bounded by what it had published and carry the same id${features.brokerDedupe ? ' (and the broker absorbs them)' : ''}`, async () => {
        const db = await database();
        const target = await bed();
        const seen = await collector(target);
        const written = await write(
          db,
          seen.log,
          Array.from({ length: 30 }, (_, i) => input(`k-${i % 6}`, i)),
        );
        // The crashed relay: the broker confirmed its publishes, it never marked them.
        const crashed = new GatedPublisher(publisher(target), 'after-confirm');
        const zombie = relay(db, { relayId: 'crashed', publisher: crashed, leaseTtlMs: 400 });
        const zombieDrain = zombie.drain();
        try {
          await waitFor('the crashing relay to publish', () => crashed.waiting > 0);
          await new Promise((resolve) => setTimeout(resolve, 800)); // its leases expire
          const successor = await relay(db, { relayId: 'successor', publisher: publisher(target), database: await db.openPool() }).drain();
          expect(successor.published).toBe(written.length);
          await seen.waitFor(allCommittedDelivered, WAIT_MS);
          // Late re-deliveries of the crashed relay's batch must have arrived too before counting.
          if (!features.brokerDedupe) await seen.waitFor(written.length + crashed.confirmed.length, WAIT_MS);
        } finally {
          crashed.open();
          await zombieDrain;
        }
        const report = seen.log.check();
        console.log(formatReport(report, `${harness.name}: relay crashed after ${crashed.confirmed.length} confirms`));
        expectDeliveryOk(report);
        expect(crashed.confirmed.length).toBeGreaterThan(0);
        const republished = new Set(crashed.confirmed);
        for (const { id } of report.duplicated) expect(republished.has(id), `duplicate ${id} was published by the crashed relay`).toBe(true);
        expect(report.duplicateDeliveries).toBe(features.brokerDedupe ? 0 : crashed.confirmed.length);
        expect((await db.dialect.status(db.database)).backlog).toBe(0);
      });
    });
  });
}

async function failure(publish: Promise<void>): Promise<PublishError> {
  const error = await publish.then(
    () => new Error('the publish resolved, a PublishError was expected'),
    (failed: unknown) => failed,
  );
  expect(error).toBeInstanceOf(PublishError);
  return error as PublishError;
}
