// The soak run (`pnpm test:soak`): writers on PostgreSQL, MariaDB and SQLite for a long while
// (default 10 minutes, OUTBOX_SOAK_MS to change it) while a driver, at random moments, SIGKILLs
// relays, SIGSTOPs them (at a random point, or inside their settle transaction via the relay's
// test hook), restarts the private broker and the private databases, and cuts the relays'
// database links (a TCP forwarder that holds the bytes). At the end every relay is resumed, the
// backlog drains, and the delivery checker judges each database: lost 0, unexpected 0, no order
// violations among first deliveries.
import { expect } from 'vitest';
import { DeliveryLog, uniqueName, type QueueCollector } from '@outboxkit/testkit';
import type { DatabaseTarget } from '@outboxkit/relay';
import {
  startMariaDbInstance,
  startPostgresCluster,
  startRabbitNode,
  type MariaDbInstance,
  type PostgresCluster,
  type RabbitNode,
} from '../../packages/testkit/src/servers/index.js';
import {
  checkAndRecord,
  drain,
  durableCollector,
  formatTable,
  killAll,
  openTarget,
  rng,
  runWriters,
  sleep,
  spawnRelay,
  waitUntil,
  type ManagedRelay,
  type ScenarioRow,
  type WriterStats,
} from '../faults/harness.js';
import { startTcpProxy, type TcpProxy } from '../faults/tcp-proxy.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

type Kind = 'PostgreSQL' | 'MariaDB' | 'SQLite';
const TTL_MS = 3000;
const RELAYS_PER_DATABASE = 2;
const RELAY_FLAGS = ['--batch-size', '200', '--lease-ttl-ms', String(TTL_MS)];
const FROZEN_LINE = /OUTBOX_FAULT frozen-in-settle/;

function say(message: string): void {
  console.log(`[soak ${new Date().toISOString()}] ${message}`);
}

/** One database under test: its writers' target, the relays' URL (through the proxy where there is a link to cut), its relays and its collector. */
interface Site {
  readonly kind: Kind;
  readonly target: DatabaseTarget;
  readonly relayUrl: string;
  readonly schema: string | undefined;
  readonly exchange: string;
  readonly log: DeliveryLog;
  readonly collector: QueueCollector;
  readonly proxy: TcpProxy | undefined;
  /** Crash-restarts the database (none for SQLite: a file has no server). */
  readonly restart: ((downMs: number) => Promise<void>) | undefined;
  relays: ManagedRelay[];
  spawned: number;
}

export interface SoakResult {
  readonly rows: readonly ScenarioRow[];
  readonly actions: Readonly<Record<string, number>>;
  readonly durationMs: number;
}

export async function soak(p: { durationMs: number; seed: number }): Promise<SoakResult> {
  const random = rng(p.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
  const between = (min: number, max: number): number => Math.floor(min + random() * (max - min));
  const closers: (() => Promise<unknown>)[] = [];
  const sites: Site[] = [];
  const actions: Record<string, number> = {};
  const count = (action: string): void => {
    actions[action] = (actions[action] ?? 0) + 1;
  };
  let stopWriters = false;
  const writers: Promise<WriterStats>[] = [];
  try {
    say(`seed ${p.seed}, ${Math.round(p.durationMs / 1000)} s; starting a private RabbitMQ, PostgreSQL and MariaDB`);
    const broker: RabbitNode = await startRabbitNode();
    closers.push(() => broker.dispose());
    const cluster: PostgresCluster = await startPostgresCluster({ settings: ['max_connections = 200'] });
    closers.push(() => cluster.dispose());
    const maria: MariaDbInstance = await startMariaDbInstance();
    closers.push(() => maria.dispose());
    const sqliteDir = mkdtempSync(join(tmpdir(), 'okt-soak-'));
    closers.push(async () => rmSync(sqliteDir, { recursive: true, force: true }));

    const addSite = async (kind: Kind, url: string, schema: string | undefined, restart: Site['restart']): Promise<void> => {
      const target = await openTarget(url, schema);
      closers.push(() => target.database.close());
      let relayUrl = url;
      let proxy: TcpProxy | undefined;
      if (kind !== 'SQLite') {
        const parsed = new URL(url);
        proxy = await startTcpProxy({ host: parsed.hostname, port: Number(parsed.port) });
        closers.push(() => proxy!.close());
        parsed.host = `127.0.0.1:${proxy.port}`;
        relayUrl = parsed.toString();
      }
      const exchange = uniqueName('okt_soak');
      const log = new DeliveryLog();
      const collector = await durableCollector(broker.url, exchange, log);
      closers.push(() => collector.close());
      sites.push({ kind, target, relayUrl, schema, exchange, log, collector, proxy, restart, relays: [], spawned: 0 });
    };
    await addSite('PostgreSQL', cluster.url, uniqueName('okt'), async (downMs) => {
      await cluster.stop('immediate');
      await sleep(downMs);
      await cluster.start();
    });
    await addSite('MariaDB', maria.url, 'test', async (downMs) => {
      await maria.kill();
      await sleep(downMs);
      await maria.start();
    });
    await addSite('SQLite', `sqlite:${join(sqliteDir, 'outbox.db')}`, undefined, undefined);

    const spawn = (site: Site, env?: NodeJS.ProcessEnv): ManagedRelay => {
      const relay = spawnRelay({
        databaseUrl: site.relayUrl,
        schema: site.schema,
        brokerUrl: broker.url,
        exchange: site.exchange,
        relayId: `soak-${site.kind.toLowerCase()}-${site.spawned++}`,
        extra: RELAY_FLAGS,
        ...(env ? { env } : {}),
      });
      site.relays.push(relay);
      return relay;
    };
    const replace = async (site: Site, relay: ManagedRelay, env?: NodeJS.ProcessEnv): Promise<ManagedRelay> => {
      await relay.stop('SIGKILL');
      site.relays = site.relays.filter((r) => r !== relay);
      return spawn(site, env);
    };
    closers.push(() => killAll(sites.flatMap((site) => site.relays)));
    for (const site of sites) for (let i = 0; i < RELAYS_PER_DATABASE; i++) spawn(site);

    for (const [i, site] of sites.entries()) {
      writers.push(
        runWriters(
          {
            target: site.target,
            log: site.log,
            total: Number.MAX_SAFE_INTEGER,
            aggregates: 300,
            concurrency: 4,
            paceMs: 40,
            rollbackRate: 0.02,
            tolerateErrors: true,
            stop: () => stopWriters,
          },
          p.seed + i,
        ),
      );
    }

    // ---------------------------------------------------------------- the fault driver
    const started = Date.now();
    const deadline = started + p.durationMs;
    const faults: Record<string, () => Promise<void>> = {
      async 'relay SIGKILL'() {
        const site = pick(sites);
        await replace(site, pick(site.relays));
      },
      async 'relay SIGSTOP'() {
        const site = pick(sites);
        const relay = pick(site.relays);
        relay.child.kill('SIGSTOP');
        await sleep(between(TTL_MS / 2, 3 * TTL_MS));
        relay.child.kill('SIGCONT');
      },
      async 'relay SIGSTOP in its settle transaction'() {
        const site = pick(sites);
        const relay = await replace(site, pick(site.relays), { OUTBOX_RELAY_FAULT_FREEZE_IN_SETTLE: String(between(1, 6)) });
        const froze = await waitUntil('the relay to freeze in its settle transaction', async () => FROZEN_LINE.test(relay.output()), 30_000).catch(() => false);
        if (!froze) return;
        // SQLite's one writer waits for the frozen holder: keep that short so writers do not time out en masse.
        await sleep(site.kind === 'SQLite' ? between(500, TTL_MS) : between(TTL_MS, 3 * TTL_MS));
        relay.child.kill('SIGCONT');
      },
      async 'broker SIGKILL + restart'() {
        await broker.kill();
        await sleep(between(1000, 4000));
        await broker.start();
      },
      async 'database crash + restart'() {
        const site = pick(sites.filter((s) => s.restart));
        await site.restart!(between(1000, 4000));
      },
      async 'relay database link cut'() {
        const site = pick(sites.filter((s) => s.proxy));
        site.proxy!.cut();
        await sleep(between(2000, 3 * TTL_MS));
        site.proxy!.restore();
      },
    };
    const names = Object.keys(faults);
    while (Date.now() < deadline) {
      await sleep(between(1500, 5000));
      const name = pick(names);
      say(`${name} (${Math.round((Date.now() - started) / 1000)} s; deliveries ${sites.map((s) => `${s.kind} ${s.log.deliveries.length}`).join(', ')})`);
      await faults[name]!();
      count(name);
    }

    // ---------------------------------------------------------------- drain and judge
    say('faults over: resuming everything, stopping the writers, draining');
    for (const site of sites) {
      site.proxy?.restore();
      for (const relay of site.relays) relay.child.kill('SIGCONT');
    }
    stopWriters = true;
    const stats = await Promise.all(writers);
    const rows: ScenarioRow[] = [];
    for (const [i, site] of sites.entries()) {
      const drainMs = await drain(site.collector, 600_000).catch((error: Error) => {
        throw new Error(`${site.kind}: ${error.message}; pending ${site.log.pending().length}; a relay's log:\n${site.relays[0]?.output().slice(-3000)}`);
      });
      const s = stats[i]!;
      checkAndRecord(
        `soak ${Math.round(p.durationMs / 60_000)} min (${site.kind})`,
        site.log,
        drainMs,
        `${s.committed} committed, ${s.unknown} unknown outcome, ${s.rolledBack} rolled back; ${site.spawned} relay processes`,
      );
      const report = site.log.check();
      rows.push({
        scenario: site.kind,
        attempted: report.attempted,
        committed: report.committed,
        delivered: report.delivered,
        lost: report.lost.length,
        unexpected: report.unexpected.length,
        duplicated: report.duplicateDeliveries,
        orderViolations: report.orderViolations.length,
        drainMs,
      });
      expect(s.committed, `${site.kind}: the writers committed events`).toBeGreaterThan(0);
    }
    say(`done; faults: ${JSON.stringify(actions)}\n${formatTable(rows)}`);
    return { rows, actions, durationMs: p.durationMs };
  } finally {
    stopWriters = true;
    await Promise.allSettled(writers);
    for (const close of closers.reverse()) await close().catch((error) => console.error('soak cleanup failed:', error));
  }
}
