// Fault scenarios of `run --source logical` on a private server, for each database with a change
// log: PostgreSQL logical replication (a cluster with wal_level=logical) and the MariaDB row
// binlog (a mariadbd with --log-bin --binlog-format=ROW): relay processes SIGKILLed mid-batch,
// the server crash-restarted, a long transaction, and a standby taking over from a reader
// SIGSTOPped past its lease. Judged by the delivery checker like every other scenario.
import { expect } from 'vitest';
import { writeEvents } from '@outboxkit/core';
import { resolveLogicalNames } from '@outboxkit/postgres';
import { DeliveryLog, serviceUrl, uniqueName } from '@outboxkit/testkit';
import { startMariaDbInstance, startPostgresCluster } from '../../packages/testkit/src/servers/index.js';
import { openDatabase } from '@outboxkit/relay';
import { cli } from '../support/operations-helpers.js';
import { frozenRelay, killWhilePublishing } from './scenarios.js';
import { startTcpProxy } from './tcp-proxy.js';
import {
  checkAndRecord,
  drain,
  durableCollector,
  killAll,
  metric,
  openTarget,
  runWriters,
  scrape,
  sleep,
  spawnRelay,
  waitUntil,
  type ManagedRelay,
  type WriterOptions,
} from './harness.js';

/** The databases whose change log `--source logical` reads; scenario labels start with `label`. */
export type LogicalDatabase = 'PostgreSQL' | 'MariaDB';

/** A private server with its change log on, as the scenarios drive it. */
interface LogServer {
  readonly url: string;
  /** A crash (PostgreSQL immediate shutdown, MariaDB SIGKILL). */
  crash(): Promise<void>;
  start(): Promise<void>;
  dispose(): Promise<void>;
}

async function startLogServer(database: LogicalDatabase): Promise<LogServer> {
  if (database === 'PostgreSQL') {
    const cluster = await startPostgresCluster({ logicalReplication: true, settings: ['max_connections = 100'] });
    return { url: cluster.url, crash: () => cluster.stop('immediate'), start: () => cluster.start(), dispose: () => cluster.dispose() };
  }
  const maria = await startMariaDbInstance({ binlog: { serverId: 7 } });
  return { url: maria.url, crash: () => maria.kill(), start: () => maria.start(), dispose: () => maria.dispose() };
}

/** `"schema"."table"` or `` `schema`.`table` ``. */
function qualified(database: LogicalDatabase, schema: string, table: string): string {
  return database === 'PostgreSQL' ? `"${schema}"."${table}"` : `\`${schema}\`.\`${table}\``;
}

/** `relayBrokerUrl`: where the relays publish (a TCP proxy the test cuts); the collector always reads the broker itself. */
async function logicalSetup(database: LogicalDatabase, options: { relayBrokerUrl?: string } = {}) {
  const closers: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const closer of closers.reverse()) await closer().catch((error) => console.error('cleanup failed:', error));
  };
  try {
    const server = await startLogServer(database);
    closers.push(() => server.dispose());
    const schema = uniqueName('okt');
    if (database === 'MariaDB') {
      const admin = await openDatabase(server.url, {});
      await admin.database.query(`CREATE DATABASE \`${schema}\``);
      await admin.database.close();
    }
    const target = await openTarget(server.url, schema);
    closers.push(() => target.database.close());
    const dbFlags = ['--database-url', server.url, '--schema', schema];
    const setup = await cli(['setup-logical', ...dbFlags]);
    expect(setup.stdout).toMatch(database === 'PostgreSQL' ? /replication slot \S+: created/ : /binlog checkpoint \S+: created/);
    const brokerUrl = await serviceUrl('rabbitmq');
    const exchange = uniqueName('okt_fx');
    const log = new DeliveryLog();
    const collector = await durableCollector(brokerUrl, exchange, log);
    closers.push(() => collector.close());
    const relays: ManagedRelay[] = [];
    closers.push(() => killAll(relays));
    let closing = false;
    const writers: Promise<unknown>[] = [];
    closers.push(async () => {
      closing = true;
      await Promise.allSettled(writers);
    });
    return {
      database,
      server,
      schema,
      target,
      dbFlags,
      log,
      collector,
      close,
      relay(id: string, extra: readonly string[] = [], env?: NodeJS.ProcessEnv): ManagedRelay {
        const relay = spawnRelay({
          ...(env ? { env } : {}),
          databaseUrl: server.url,
          schema,
          brokerUrl: options.relayBrokerUrl ?? brokerUrl,
          exchange,
          relayId: id,
          extra: ['--source', 'logical', '--poison-policy', 'dead-letter', ...extra],
        });
        relays.push(relay);
        return relay;
      },
      write(options: Omit<WriterOptions, 'target' | 'log'>, seed: number) {
        const running = runWriters({ ...options, target, log, stop: () => closing }, seed);
        writers.push(running);
        return running;
      },
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** The slot's confirmed LSN never passes an unconfirmed event: each kill re-reads, duplicates at most one batch window per kill. */
export async function logicalRelayKills(p: {
  database: LogicalDatabase;
  events: number;
  aggregates: number;
  kills: number;
  batchSize: number;
  seed: number;
}): Promise<void> {
  const s = await logicalSetup(p.database);
  try {
    // The slot is confirmed after every settled batch, so a kill re-reads at most the two batches in
    // flight (the writers' transactions hold one event each; a batch ends on a commit).
    const current = await killWhilePublishing(s, {
      ...p,
      scenario: scenario(p.database, 1, 'logical reader SIGKILL'),
      idPrefix: 'logical-kill',
      msPerKill: 3000,
    });
    const samples = await scrape(await current.metricsPort());
    expect(metric(samples, 'outbox_logical_slot_active')).toBe(1);
    expect(metric(samples, 'outbox_logical_slot_confirmed_lsn')).toBeGreaterThan(0);
    expect(metric(samples, 'outbox_logical_slot_lag_bytes')).toBeGreaterThanOrEqual(0);
    expect(metric(samples, 'outbox_logical_slot_retained_wal_bytes')).toBeGreaterThan(0);
    expect(metric(samples, 'outbox_shards_owned')).toBe(64);
    await waitUntil('the events table emptied into history', async () => (await countRows(s, 'outbox_events')) === 0, 30_000).catch(async (error: Error) => {
      const left = await s.target.database.query(
        `SELECT position, id, aggregate_id, sequence, attempts FROM ${qualified(s.database, s.schema, 'outbox_events')} ORDER BY position LIMIT 20`,
      );
      throw new Error(`${error.message}\nleft: ${JSON.stringify(left.rows)}\nreader ${current.id}:\n${current.output().slice(-4000)}`);
    });
  } finally {
    await s.close();
  }
}

/**
 * Two readers on one slot. The active one stops itself (SIGSTOP, the relay's test hook) with its
 * third batch published and confirmed but not settled; the standby takes every lease once they
 * expire, ends the frozen walsender and streams from the confirmed LSN. Resumed, the frozen
 * reader's marks are refused by the lease epochs (it cannot confirm the slot either: its
 * replication connection is gone) and it stands by.
 */
export async function logicalTakeover(p: { database: LogicalDatabase; events: number; aggregates: number; seed: number }): Promise<void> {
  const s = await logicalSetup(p.database);
  try {
    const extra = ['--batch-size', '100', '--lease-ttl-ms', '2000'];
    const writers = s.write({ total: p.events, aggregates: p.aggregates, concurrency: 8, paceMs: Math.floor((8 * 8000) / p.events) }, p.seed);
    const first = s.relay('logical-a', extra, { OUTBOX_RELAY_FAULT_FREEZE_BEFORE_SETTLE: '3' });
    await waitUntil('reader a active', async () => /logical reader active/.test(first.output()), 30_000);
    const second = s.relay('logical-b', extra);
    await second.metricsPort();
    await frozenRelay(first, 'before-settle');
    const outputAtPause = first.output().length;
    const epochsBefore = await epochs(s);
    await waitUntil('the standby took over', async () => /logical reader active/.test(second.output()), 60_000);
    const epochsAfter = await epochs(s);
    for (const [shard, epoch] of epochsBefore) expect(epochsAfter.get(shard), `shard ${shard} epoch moved on takeover`).toBeGreaterThan(epoch);
    first.child.kill('SIGCONT');
    const fenced = await waitUntil(
      "the frozen reader's late marks refused",
      async () => {
        const match = /"events":(\d+),"msg":"lease lost: marks refused/.exec(first.output().slice(outputAtPause));
        return match ? Number(match[1]) : undefined;
      },
      30_000,
    );
    await writers;
    const drainMs = await drain(s.collector, 180_000);
    checkAndRecord(
      scenario(p.database, 3, 'logical reader SIGSTOPped past its lease, standby takes over'),
      s.log,
      drainMs,
      `late marks refused for ${fenced} events; seed ${p.seed}`,
    );
    expect(fenced).toBeGreaterThan(0);
    const status = await s.target.dialect.status(s.target.database);
    expect(status.shardOwners.map((owner) => owner.owner)).toEqual(['logical:logical-b']);
    expect(first.child.exitCode, `the resumed reader keeps running (standing by): ${first.output().slice(-1500)}`).toBeNull();
  } finally {
    await s.close();
  }
}

/**
 * The private server crash-restarted (`pg_ctl stop -m immediate`) under writers: the reader's
 * replication connection and pool die, it reconnects and streams again from the slot's confirmed
 * LSN (after a crash, possibly an older one: duplicates, never a gap).
 */
export async function logicalDatabaseRestart(p: {
  database: LogicalDatabase;
  events: number;
  aggregates: number;
  restarts: number;
  downMs: number;
  seed: number;
}): Promise<void> {
  const s = await logicalSetup(p.database);
  try {
    const reader = s.relay('logical-db-restart', ['--lease-ttl-ms', '3000']);
    await waitUntil('reader active', async () => /logical reader active/.test(reader.output()), 30_000);
    const paceMs = Math.floor((8 * (p.restarts * (p.downMs + 5000) + 3000)) / p.events);
    const writers = s.write({ total: p.events, aggregates: p.aggregates, paceMs, tolerateErrors: true }, p.seed);
    for (let k = 0; k < p.restarts; k++) {
      const before = s.log.deliveries.length;
      await waitUntil('events flowing', async () => s.log.deliveries.length > before + 100, 90_000);
      await s.server.crash();
      await sleep(p.downMs);
      await s.server.start();
    }
    const stats = await writers;
    const drainMs = await drain(s.collector, 180_000);
    checkAndRecord(
      scenario(p.database, 6, `${p.database === 'PostgreSQL' ? 'PostgreSQL immediate shutdown' : 'MariaDB SIGKILLed and restarted'} x${p.restarts}`),
      s.log,
      drainMs,
      `${stats.unknown} writes of unknown outcome; seed ${p.seed}`,
    );
    expect(reader.child.exitCode, `the reader kept running: ${reader.output().slice(-1500)}`).toBeNull();
    expect(stats.errors, 'writers saw the database go away').toBeGreaterThan(0);
    expect(reader.output()).toMatch(/logical reader cycle failed/);
  } finally {
    await s.close();
  }
}

/**
 * One transaction holds its event open for `holdMs` while `others` commit and are delivered: the
 * stream carries transactions in commit order, so the held event is published once, after its
 * commit, and nothing waits for it.
 */
export async function logicalLongTransaction(p: {
  database: LogicalDatabase;
  holdMs: number;
  others: number;
  aggregates: number;
  seed: number;
}): Promise<void> {
  const s = await logicalSetup(p.database);
  try {
    s.relay('logical-long-tx');
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let inserted: () => void = () => undefined;
    const insertedP = new Promise<void>((resolve) => (inserted = resolve));
    const long = s.target.database.transaction(async (tx) => {
      const [event] = await writeEvents(s.target.dialect, tx, { aggregateType: 'slow', aggregateId: 'slow-1', type: 'slow.done', payload: {} });
      inserted();
      await released;
      return event!;
    });
    await insertedP;
    const started = Date.now();
    await s.write({ total: p.others, aggregates: p.aggregates }, p.seed);
    await waitUntil('the others delivered', async () => s.log.pending().length === 0, 120_000);
    await sleep(Math.max(0, p.holdMs - (Date.now() - started)));
    release();
    const event = await long;
    const othersDelivered = s.log.deliveries.length;
    s.log.attempted(event, 'committed');
    const drainMs = await drain(s.collector, 60_000);
    const arrival = s.log.deliveries.findIndex((delivery) => delivery.id === event.id);
    checkAndRecord(
      scenario(p.database, 8, `transaction open ${p.holdMs / 1000} s`),
      s.log,
      drainMs,
      `held event arrived as delivery ${arrival + 1} of ${s.log.deliveries.length}`,
    );
    expect(arrival, 'published after its commit, after everything committed before it').toBeGreaterThanOrEqual(othersDelivered);
  } finally {
    await s.close();
  }
}

/**
 * The broker unreachable under writers: the relays publish through a TCP proxy that the test
 * cuts (held bytes, as a link that is down; the shared broker is never touched). The reader's
 * confirms time out and its breaker opens; with the link still down it is SIGKILLed, and the
 * slot, peeked while no walsender holds it, must still carry every event left in the table: a
 * slot confirmed past an unpublished event would have lost it. A second reader starts while the
 * link is still down, the link comes back, and everything is delivered, in order, from the slot.
 * The slot's lag in seconds grows through the outage and is back at 0 once the second caught up.
 */
export async function logicalBrokerDown(p: { events: number; aggregates: number; downMs: number; seed: number }): Promise<void> {
  const broker = new URL(await serviceUrl('rabbitmq'));
  const proxy = await startTcpProxy({ host: broker.hostname, port: Number(broker.port || 5672) });
  const relayUrl = new URL(broker.href);
  relayUrl.host = `127.0.0.1:${proxy.port}`;
  const s = await logicalSetup('PostgreSQL', { relayBrokerUrl: relayUrl.href }).catch(async (error: unknown) => {
    await proxy.close();
    throw error;
  });
  try {
    const extra = ['--batch-size', '100', '--lease-ttl-ms', '3000'];
    const first = s.relay('logical-broker-a', extra);
    const port = await first.metricsPort();
    await waitUntil('reader a active', async () => /logical reader active/.test(first.output()), 30_000);
    const paceMs = Math.floor((8 * (p.downMs + 6000)) / p.events);
    const writers = s.write({ total: p.events, aggregates: p.aggregates, paceMs }, p.seed);
    await waitUntil('events flowing', async () => s.log.deliveries.length > 100, 60_000);
    proxy.cut();
    const cutAt = Date.now();
    await waitUntil('the breaker opened', async () => metric(await scrape(port), 'outbox_circuit_breaker_open') === 1, 60_000);
    // The slot's lag in seconds grows while nothing can be published (bytes alone would not say how long).
    const lagSeconds = await waitUntil(
      'the slot lag in seconds reported',
      async () => {
        const value = metric(await scrape(port), 'outbox_logical_slot_lag_seconds');
        return value > 0 ? value : undefined;
      },
      30_000,
    );
    await waitUntil('the slot lag in seconds growing', async () => metric(await scrape(port), 'outbox_logical_slot_lag_seconds') > lagSeconds, 30_000);
    await sleep(Math.max(0, p.downMs / 2 - (Date.now() - cutAt)));
    first.child.kill('SIGKILL');
    const names = resolveLogicalNames(s.target.dialect.tables);
    await waitUntil('the walsender of the killed reader gone', async () => !(await slotActive(s, names.slot)), 30_000);
    const unpublished = await eventIds(s);
    const inSlot = await slotInsertIds(s, names.slot, names.publication);
    expect(unpublished.length, 'events piled up in the table while the broker was down').toBeGreaterThan(0);
    expect(
      unpublished.filter((id) => !inSlot.has(id)),
      'every unpublished event is still in the slot: it was not confirmed past any of them',
    ).toEqual([]);
    const second = s.relay('logical-broker-b', extra);
    await waitUntil('reader b active', async () => /logical reader active/.test(second.output()), 30_000);
    await sleep(Math.max(0, p.downMs - (Date.now() - cutAt)));
    proxy.restore();
    await writers;
    const drainMs = await drain(s.collector, 180_000);
    checkAndRecord(
      `L5 broker unreachable ${(p.downMs / 1000).toFixed(0)} s (logical), reader SIGKILLed during it`,
      s.log,
      drainMs,
      `${unpublished.length} unpublished events all still in the slot at the kill; seed ${p.seed}`,
    );
    expect(second.child.exitCode, `the second reader kept running: ${second.output().slice(-1500)}`).toBeNull();
    const secondPort = await second.metricsPort();
    await waitUntil('the slot lag back to 0 s once caught up', async () => metric(await scrape(secondPort), 'outbox_logical_slot_lag_seconds') === 0, 30_000);
  } finally {
    await s.close();
    await proxy.close();
  }
}

async function slotActive(s: Awaited<ReturnType<typeof logicalSetup>>, slot: string): Promise<boolean> {
  const { rows } = await s.target.database.query<{ active: boolean }>('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
  return rows[0]?.active ?? false;
}

async function eventIds(s: Awaited<ReturnType<typeof logicalSetup>>): Promise<string[]> {
  const { rows } = await s.target.database.query<{ id: string }>(`SELECT id::text AS id FROM "${s.schema}"."outbox_events"`);
  return rows.map((row) => row.id);
}

/**
 * The ids of the events rows the slot still holds, peeked (not consumed) from its pgoutput
 * stream. An insert message is 'I', the relation OID (int32), 'N', the column count (int16),
 * then per column 'n' (null), 'u' (unchanged) or 't' + length (int32) + text; the events table's
 * second column is `id`.
 */
async function slotInsertIds(s: Awaited<ReturnType<typeof logicalSetup>>, slot: string, publication: string): Promise<Set<string>> {
  const { rows } = await s.target.database.query<{ data: Buffer }>(
    "SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2)",
    [slot, publication],
  );
  const ids = new Set<string>();
  for (const { data } of rows) {
    if (data[0] !== 0x49) continue; // 'I'
    let at = 1 + 4 + 1 + 2;
    for (let column = 0; column < 2; column++) {
      const kind = data[at++];
      if (kind !== 0x74) break; // 't'
      const length = data.readInt32BE(at);
      at += 4;
      if (column === 1) ids.add(data.toString('utf8', at, at + length));
      at += length;
    }
  }
  return ids;
}

/** `L<n> ...` for PostgreSQL's scenarios (as they were named before the binlog), `B<n> ... (binlog)` for MariaDB's. */
function scenario(database: LogicalDatabase, n: number, text: string): string {
  if (database === 'MariaDB') return `B${n} ${text} (binlog)`;
  // L1 and L3 name their reader already; the server faults say which source they hit.
  return n === 1 || n === 3 ? `L${n} ${text}` : `L${n} ${text} (logical)`;
}

async function epochs(s: Awaited<ReturnType<typeof logicalSetup>>): Promise<Map<number, number>> {
  const { rows } = await s.target.database.query<{ shard: unknown; epoch: unknown }>(
    `SELECT shard, epoch FROM ${qualified(s.database, s.schema, 'outbox_leases')}`,
  );
  return new Map(rows.map((row) => [Number(row.shard), Number(row.epoch)]));
}

async function countRows(s: Awaited<ReturnType<typeof logicalSetup>>, table: string): Promise<number> {
  const { rows } = await s.target.database.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${qualified(s.database, s.schema, table)}`);
  return Number(rows[0]?.n ?? 0);
}
