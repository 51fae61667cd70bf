// Fault scenarios for the brokers other than RabbitMQ (NATS JetStream, Redis Streams), on a
// private server each test starts and stops: broker SIGKILLed and restarted mid-drain, broker
// frozen past the publish timeout, relay SIGKILLed mid-batch. Sizes come from the caller:
// subset-other-brokers.test.ts (default suite) and other-brokers.faults.ts (pnpm test:faults).
import { expect } from 'vitest';
import type { MessageCollector, PrivateServer } from '@outboxkit/testkit';
import type { DatabaseTarget } from '@outboxkit/relay';
import { BROKER_CASES, type BrokerCase } from '../support/brokers.js';
import { createTestDatabase, type TestDatabase } from '../support/databases.js';
import { checkAndRecord, drain, killAll, metric, openTarget, runWriters, scrape, sleep, spawnRelay, waitUntil, type ManagedRelay } from './harness.js';

export type OtherBroker = BrokerCase['name'];
export type BrokerFault = 'broker-kill' | 'broker-freeze' | 'relay-kill';

export interface BrokerFaultParams {
  broker: OtherBroker;
  fault: BrokerFault;
  events: number;
  aggregates: number;
  /** How long the broker stays down or frozen (ms). */
  outageMs: number;
  seed: number;
}

const PUBLISH_TIMEOUT_MS = 2000;
const BATCH_SIZE = 200;

/** Runs one fault against one broker; the row goes into the scenario table (docs/guarantees.md). */
export async function otherBrokerFault(p: BrokerFaultParams): Promise<void> {
  const broker = BROKER_CASES.find((candidate) => candidate.name === p.broker)!;
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const server: PrivateServer = await broker.startServer();
    closers.push(() => {
      server.resume();
      return server.dispose();
    });
    const db: TestDatabase = await createTestDatabase('PostgreSQL');
    closers.push(() => db.dispose());
    const target: DatabaseTarget = await openTarget(db.url, db.schema);
    closers.push(() => target.database.close());
    const { flags, collector }: { flags: string[]; collector: MessageCollector } = await broker.isolate(server.url);
    closers.push(() => collector.close());
    const relays: ManagedRelay[] = [];
    closers.push(() => killAll(relays));
    const extra = [...flags, '--batch-size', String(BATCH_SIZE), '--publish-timeout-ms', String(PUBLISH_TIMEOUT_MS), '--lease-ttl-ms', '2000'];
    const start = (id: string): ManagedRelay => {
      const relay = spawnRelay({ databaseUrl: db.url, schema: db.schema, brokerUrl: server.url, relayId: id, extra });
      relays.push(relay);
      return relay;
    };
    let relay = start(`${p.fault}-0`);
    const port = await relay.metricsPort();
    // Paced so the writes span the fault.
    const paceMs = Math.floor((8 * (p.outageMs + 4000)) / p.events);
    const writers = runWriters({ target, log: collector.log, total: p.events, aggregates: p.aggregates, paceMs }, p.seed);
    await waitUntil('events flowing', async () => collector.log.deliveries.length > 100, 90_000);
    let note: string;
    if (p.fault === 'broker-kill') {
      await server.kill();
      await sleep(p.outageMs);
      await server.start();
      note = 'broker SIGKILL, restarted on the same data';
    } else if (p.fault === 'broker-freeze') {
      server.pause();
      await sleep(p.outageMs);
      server.resume();
      note = `broker SIGSTOP ${(p.outageMs / 1000).toFixed(0)} s > publish timeout ${PUBLISH_TIMEOUT_MS / 1000} s`;
    } else {
      await relay.stop('SIGKILL');
      relay = start(`${p.fault}-1`);
      note = `relay SIGKILL mid-batch (batch ${BATCH_SIZE})`;
    }
    const stats = await writers;
    const drainMs = await drain(collector, 180_000);
    const samples = p.fault === 'relay-kill' ? null : await scrape(port);
    const transient =
      samples === null
        ? 0
        : metric(samples, 'outbox_publish_failures_total{reason="connection"}') + metric(samples, 'outbox_publish_failures_total{reason="timeout"}');
    const report = checkAndRecord(
      `${p.broker}: ${p.fault}`,
      collector.log,
      drainMs,
      `${note}; ${samples === null ? '' : `${transient} transient publish failures; `}${collector.log.check().duplicateDeliveries} duplicates reached the consumer; seed ${p.seed}`,
    );
    expect(stats.committed).toBe(p.events);
    if (samples !== null) expect(transient, 'the relay saw the broker fail').toBeGreaterThan(0);
    // JetStream's duplicate window (2 min) absorbs the relay's re-publishes of one id. A broker
    // SIGKILL can still redeliver to the consumer: the collector's last acks may not have reached
    // the consumer's state on disk (a consumer-side duplicate, which an inbox drops). Redis has no
    // dedupe: every publish that timed out but was applied comes back as a duplicate, at most one
    // batch's worth.
    if (p.broker === 'NATS JetStream' && p.fault !== 'broker-kill') expect(report.duplicateDeliveries).toBe(0);
    expect(report.duplicateDeliveries).toBeLessThanOrEqual(BATCH_SIZE);
    const { rows } = await target.database.query<{ n: unknown }>(`SELECT count(*) AS n FROM "${db.schema}"."outbox_quarantine"`);
    expect(Number(rows[0]?.n), 'a broker fault must not quarantine anything').toBe(0);
  } finally {
    for (const close of closers.reverse()) await close().catch((error: unknown) => console.error('cleanup failed:', error));
  }
}
