import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvents } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import { allCommittedDelivered, collectQueue, DeliveryLog, expectDeliveryOk, formatReport, uniqueName, type QueueCollector } from '@outboxkit/testkit';
import { startRabbitNode, type RabbitNode } from '../packages/testkit/src/servers/index.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { startRelay, type RelayProcess } from './support/relay-process.js';

// Acceptance: a relay process with --metrics-port against a PRIVATE RabbitMQ node (the shared
// one is never stopped). Events flow; the node stops: within a minute /metrics shows the outage
// (broker down, breaker open, backlog and oldest pending age growing) and /readyz turns 503; the
// node starts again: the signals recover and every committed event is delivered.

type Samples = Map<string, number>;

/** Parses Prometheus text format into `name{labels}` -> value (enough for our own metrics). */
function parseMetrics(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

function value(samples: Samples, key: string): number {
  const found = samples.get(key);
  if (found === undefined) throw new Error(`metric ${key} is missing from /metrics`);
  return found;
}

const SIGNALS = [
  'outbox_broker_up',
  'outbox_circuit_breaker_open',
  'outbox_database_up',
  'outbox_backlog_events',
  'outbox_oldest_pending_age_seconds',
  'outbox_published_total',
  'outbox_publish_failures_total{reason="connection"}',
  'outbox_publish_failures_total{reason="timeout"}',
  'outbox_last_poll_timestamp_seconds',
] as const;

describe('broker outage, seen from /metrics and /readyz (private RabbitMQ node, PostgreSQL)', () => {
  let node: RabbitNode;
  let db: TestDatabase;
  let writerDb: DatabaseTarget;
  let collector: QueueCollector;
  let relay: RelayProcess | undefined;
  const log = new DeliveryLog();

  beforeAll(async () => {
    node = await startRabbitNode();
    db = await createTestDatabase('PostgreSQL');
    writerDb = await openDatabase(db.url, { tables: { schema: db.schema! } });
    await writerDb.dialect.migrate(writerDb.database);
  }, 90_000);

  afterAll(async () => {
    await relay?.stop('SIGKILL');
    await collector?.close().catch(() => undefined);
    await writerDb?.database.close();
    await node?.dispose();
    await db?.dispose();
  }, 90_000);

  it('the outage shows within a minute, readiness recovers, and nothing is lost', async () => {
    const exchange = uniqueName('okt_x');
    // Durable, so messages queued before the node stops survive it.
    collector = await collectQueue({
      url: node.url,
      queue: uniqueName('okt_q'),
      declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
      log,
    });
    relay = startRelay([
      '--database-url',
      db.url,
      '--schema',
      db.schema!,
      '--broker-url',
      node.url,
      '--exchange',
      exchange,
      '--poll-interval-ms',
      '200',
      '--status-interval-ms',
      '1000',
      '--metrics-port',
      '0',
      '--metrics-host',
      '127.0.0.1',
      '--log-level',
      'info',
    ]);
    const base = `http://127.0.0.1:${await metricsPort(relay)}`;
    const scrape = async (): Promise<Samples> => parseMetrics(await (await fetch(`${base}/metrics`)).text());
    type ReadyzBody = { failed: string[]; checks: Record<string, { ok: boolean; detail: string }> };
    const readyz = async (): Promise<{ status: number; body: ReadyzBody }> => {
      const response = await fetch(`${base}/readyz`);
      return { status: response.status, body: (await response.json()) as ReadyzBody };
    };
    const show = (label: string, samples: Samples, elapsedMs?: number): void => {
      const values = SIGNALS.map((key) => `${key}=${samples.get(key)}`).join(' ');
      console.log(`${label}${elapsedMs === undefined ? '' : ` (+${(elapsedMs / 1000).toFixed(1)} s)`}: ${values}`);
    };

    // A steady writer (~50 events/s over 20 aggregates) that keeps going through the outage:
    // the database is the buffer.
    let writing = true;
    let written = 0;
    const writer = (async () => {
      while (writing) {
        const [event] = await writerDb.database.transaction((tx) =>
          writeEvents(writerDb.dialect, tx, {
            aggregateType: 'account',
            aggregateId: `acc-${written % 20}`,
            type: 'account.credited',
            payload: { n: written },
          }),
        );
        log.attempted(event!, 'committed');
        written++;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();

    try {
      await waitUntil('relay ready', async () => (await readyz()).status === 200, 30_000);
      await collector.waitFor(100, 30_000);
      const before = await scrape();
      show('flowing', before);
      expect(value(before, 'outbox_broker_up')).toBe(1);
      expect(value(before, 'outbox_circuit_breaker_open')).toBe(0);
      expect(value(before, 'outbox_published_total')).toBeGreaterThan(0);

      // --- outage ---
      await node.stop();
      const stoppedAt = Date.now();
      const atStop = await scrape();
      let sawBreakerOpen = false;
      const outage = await waitUntil(
        'outage visible on /metrics',
        async () => {
          const now = await scrape();
          if (value(now, 'outbox_circuit_breaker_open') === 1) sawBreakerOpen = true;
          const visible =
            value(now, 'outbox_broker_up') === 0 &&
            sawBreakerOpen &&
            value(now, 'outbox_backlog_events') > value(atStop, 'outbox_backlog_events') + 50 &&
            value(now, 'outbox_oldest_pending_age_seconds') > 3;
          return visible ? now : undefined;
        },
        60_000,
      );
      show('broker stopped', outage, Date.now() - stoppedAt);
      const notReady = await waitUntil(
        '/readyz 503',
        async () => {
          const r = await readyz();
          return r.status === 503 ? r : undefined;
        },
        60_000 - (Date.now() - stoppedAt),
      );
      console.log(
        `/readyz after ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s: 503 ${JSON.stringify(notReady.body.failed)} broker: ${notReady.body.checks.broker!.detail}`,
      );
      expect(notReady.body.failed).toContain('broker');
      expect(notReady.body.checks.database!.ok).toBe(true);
      expect(Date.now() - stoppedAt).toBeLessThan(60_000);
      // Failed publish attempts are counted as transient (connection/timeout), not against events.
      const transientFailures =
        value(outage, 'outbox_publish_failures_total{reason="connection"}') + value(outage, 'outbox_publish_failures_total{reason="timeout"}');
      expect(transientFailures).toBeGreaterThan(0);
      // The age keeps rising while the broker is away.
      const later = await waitUntil(
        'oldest pending age rising',
        async () => {
          const now = await scrape();
          return value(now, 'outbox_oldest_pending_age_seconds') > value(outage, 'outbox_oldest_pending_age_seconds') ? now : undefined;
        },
        20_000,
      );
      show('still down', later, Date.now() - stoppedAt);

      // --- recovery ---
      await node.start();
      const restartedAt = Date.now();
      const recovered = await waitUntil(
        'recovered on /metrics and /readyz',
        async () => {
          const now = await scrape();
          const ok = value(now, 'outbox_broker_up') === 1 && value(now, 'outbox_circuit_breaker_open') === 0 && (await readyz()).status === 200;
          return ok ? now : undefined;
        },
        90_000,
      );
      show('broker back, ready', recovered, Date.now() - restartedAt);

      writing = false;
      await writer;
      await collector.waitFor(allCommittedDelivered, 120_000);
      const drained = await waitUntil(
        'backlog sampled as 0',
        async () => {
          const now = await scrape();
          return value(now, 'outbox_backlog_events') === 0 ? now : undefined;
        },
        30_000,
      );
      show('drained', drained, Date.now() - restartedAt);
      const lagCount = value(drained, 'outbox_publish_lag_seconds_count');
      const lagOver5s = lagCount - value(drained, 'outbox_publish_lag_seconds_bucket{le="5"}');
      console.log(
        `publish lag: ${lagCount} observations, ${lagOver5s} over 5 s (held back by the outage), sum ${value(drained, 'outbox_publish_lag_seconds_sum').toFixed(1)} s; ${written} events written`,
      );
      expect(lagOver5s).toBeGreaterThan(0);
      expect(value(drained, 'outbox_published_total')).toBeGreaterThanOrEqual(written);

      const report = log.check();
      console.log(formatReport(report, 'broker outage with metrics'));
      expect(report.lost).toEqual([]);
      expectDeliveryOk(report);

      expect(await relay.stop('SIGTERM')).toBe(0);
      // Neither the broker password nor the full URL reaches the logs.
      expect(relay.output()).not.toContain('guest:guest');
    } finally {
      writing = false;
      await writer.catch(() => undefined);
    }
  }, 300_000);

  it('the private node helper can freeze (SIGSTOP), thaw, crash (SIGKILL) and restart the node', async () => {
    if (node.pid === null) await node.start();
    expect(await amqpAnswers(node.port)).toBe(true);
    node.pause();
    // The kernel still accepts the TCP connection, but a frozen broker never answers the handshake.
    expect(await amqpAnswers(node.port)).toBe(false);
    node.resume();
    expect(await amqpAnswers(node.port)).toBe(true);
    const pid = node.pid!;
    await node.kill();
    expect(node.pid).toBeNull();
    expect(() => process.kill(pid, 0)).toThrow();
    await node.start();
    expect(await amqpAnswers(node.port)).toBe(true);
  }, 90_000);
});

/** Sends the AMQP 0-9-1 protocol header and reports whether the broker answers within 2 s. */
function amqpAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')));
    const done = (answered: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => done(false), 2000);
    socket.once('data', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** The port the relay logged (it was started with --metrics-port 0). */
async function metricsPort(relay: RelayProcess): Promise<number> {
  return waitUntil(
    'metrics server listening',
    async () => {
      const match = /"port":(\d+),"paths":\["\/metrics"/.exec(relay.output());
      return match ? Number(match[1]) : undefined;
    },
    30_000,
  );
}

/** Polls `probe` until it returns something truthy; rejects with `what` after `timeoutMs`. */
async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const result = await probe();
      if (result) return result as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
