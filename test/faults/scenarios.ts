// The fault scenarios, parameterised by size: test/faults/subset.test.ts runs small ones in the
// default suite, test/faults/*.faults.ts the full ones under `pnpm test:faults`.
import { expect } from 'vitest';
import { shardOf, writeEvents } from '@outboxkit/core';
import { DeliveryLog, serviceUrl, uniqueName, type QueueCollector } from '@outboxkit/testkit';
import { startPostgresCluster, startRabbitNode, type PostgresCluster, type RabbitNode } from '../../packages/testkit/src/servers/index.js';
import type { DatabaseTarget } from '@outboxkit/relay';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from '../support/databases.js';
import {
  checkAndRecord,
  drain,
  durableCollector,
  killAll,
  metric,
  openTarget,
  rng,
  rssMiB,
  runWriters,
  scrape,
  sleep,
  spawnRelay,
  waitUntil,
  type ManagedRelay,
  type WriterOptions,
  type WriterStats,
} from './harness.js';

function progress(message: string): void {
  if (process.env.OUTBOX_FAULTS_VERBOSE) console.log(`[${new Date().toISOString()}] ${message}`);
}

/** Everything a scenario opened, closed in reverse order whatever happened. */
class Resources {
  readonly #closers: (() => Promise<unknown>)[] = [];
  add<T>(value: T, close: (value: T) => Promise<unknown>): T {
    this.#closers.push(() => close(value));
    return value;
  }
  async close(): Promise<void> {
    for (const close of this.#closers.reverse()) await close().catch((error) => console.error('cleanup failed:', error));
  }
}

function tableName(kind: DatabaseKind, schema: string | undefined, name: string): string {
  if (kind === 'PostgreSQL') return `"${schema}"."outbox_${name}"`;
  if (kind === 'MariaDB') return `\`${schema}\`.\`outbox_${name}\``;
  return `outbox_${name}`;
}

async function count(target: DatabaseTarget, sql: string): Promise<number> {
  const { rows } = await target.database.query<{ n: unknown }>(sql);
  return Number(rows[0]?.n ?? 0);
}

interface Setup {
  res: Resources;
  db: TestDatabase;
  target: DatabaseTarget;
  log: DeliveryLog;
  collector: QueueCollector;
  brokerUrl: string;
  exchange: string;
  relays: ManagedRelay[];
  relay(id: string, extra?: readonly string[], env?: NodeJS.ProcessEnv): ManagedRelay;
  /** runWriters on this setup's database and log; stopped and awaited before the pool closes, even on failure. */
  write(options: Omit<WriterOptions, 'target' | 'log'>, seed: number): Promise<WriterStats>;
}

/** Writers that stop when the scenario is torn down, so a failed scenario leaves nothing writing into a closed pool. */
function trackedWriters(res: Resources, target: DatabaseTarget, log: DeliveryLog): Setup['write'] {
  let closing = false;
  const running: Promise<unknown>[] = [];
  res.add(running, async (list) => {
    closing = true;
    await Promise.allSettled(list);
  });
  return (options, seed) => {
    const promise = runWriters({ ...options, target, log, stop: () => closing || (options.stop?.() ?? false) }, seed);
    running.push(promise);
    return promise;
  };
}

async function setup(kind: DatabaseKind, brokerUrl?: string): Promise<Setup> {
  const res = new Resources();
  try {
    const db = res.add(await createTestDatabase(kind), (d) => d.dispose());
    const target = res.add(await openTarget(db.url, db.schema), (t) => t.database.close());
    const broker = brokerUrl ?? (await serviceUrl('rabbitmq'));
    const exchange = uniqueName('okt_fx');
    const log = new DeliveryLog();
    const collector = res.add(await durableCollector(broker, exchange, log), (c) => c.close());
    const relays: ManagedRelay[] = [];
    res.add(relays, killAll);
    const write = trackedWriters(res, target, log);
    return {
      res,
      db,
      target,
      log,
      collector,
      brokerUrl: broker,
      exchange,
      relays,
      write,
      relay(id, extra = [], env) {
        const relay = spawnRelay({ databaseUrl: db.url, schema: db.schema, brokerUrl: broker, exchange, relayId: id, extra, ...(env ? { env } : {}) });
        relays.push(relay);
        return relay;
      },
    };
  } catch (error) {
    await res.close();
    throw error;
  }
}

// ------------------------------------------------------------------ 1. relay SIGKILLed repeatedly

export interface RelayKillParams {
  kind: DatabaseKind;
  events: number;
  aggregates: number;
  kills: number;
  batchSize: number;
  seed: number;
}

/**
 * One relay at a time; SIGKILLed `kills` times at random moments while it is publishing (so
 * kills land between a publish and its mark), each time replaced by a fresh process that takes
 * the shards once the dead one's lease expires.
 */
export async function relayKills(p: RelayKillParams): Promise<void> {
  const s = await setup(p.kind);
  try {
    await killWhilePublishing(s, { ...p, scenario: `1 relay SIGKILL (${p.kind})`, idPrefix: 'kill', msPerKill: 2500 });
  } finally {
    await s.res.close();
  }
}

/** What {@link killWhilePublishing} needs of a scenario's setup. */
export interface KillTarget {
  readonly log: DeliveryLog;
  readonly collector: QueueCollector;
  relay(id: string, extra?: readonly string[]): ManagedRelay;
  write(options: Omit<WriterOptions, 'target' | 'log'>, seed: number): Promise<WriterStats>;
}

/**
 * Scenario 1 (and the logical source's L1): writers paced so the writes span the kills (each kill
 * costs about `msPerKill` of stall), one relay at a time, each SIGKILLed at a random moment once
 * it is publishing and replaced by a fresh process; then the drain, judged by the checker, with
 * duplicates bounded by two batches per kill (a clean batch settles behind the next one's publish,
 * so a kill can leave both unsettled). Returns the last relay, still running.
 */
/** Batches a relay or reader can hold published but unsettled: the one settling behind, the one publishing. */
const UNSETTLED_BATCHES = 2;

export async function killWhilePublishing(
  s: KillTarget,
  p: {
    scenario: string;
    events: number;
    aggregates: number;
    kills: number;
    batchSize: number;
    seed: number;
    idPrefix: string;
    msPerKill: number;
    extra?: readonly string[];
  },
): Promise<ManagedRelay> {
  const random = rng(p.seed);
  const extra = ['--batch-size', String(p.batchSize), '--lease-ttl-ms', '2000', ...(p.extra ?? [])];
  let current = s.relay(`${p.idPrefix}-0`, extra);
  const concurrency = 8;
  const paceMs = Math.max(0, Math.floor((concurrency * p.kills * p.msPerKill) / p.events));
  let writing = true;
  const writers = s.write({ total: p.events, aggregates: p.aggregates, concurrency, paceMs }, p.seed).finally(() => {
    writing = false;
  });
  let kills = 0;
  while (kills < p.kills) {
    // Wait until this relay is publishing, then a random extra moment, then kill.
    const before = s.log.deliveries.length;
    await waitUntil(`relay ${current.id} publishing`, async () => s.log.deliveries.length > before + 20 || (!writing && s.log.pending().length === 0), 60_000);
    if (!writing && s.log.pending().length === 0) break;
    await sleep(50 + Math.floor(random() * 700));
    await current.stop('SIGKILL');
    kills++;
    current = s.relay(`${p.idPrefix}-${kills}`, extra);
  }
  const stats = await writers;
  const drainMs = await drain(s.collector, 180_000);
  const report = checkAndRecord(
    `${p.scenario} x${kills}`,
    s.log,
    drainMs,
    `batch ${p.batchSize}; dup bound ${kills * UNSETTLED_BATCHES * p.batchSize}; seed ${p.seed}`,
  );
  expect(kills, 'every planned kill happened while events were still flowing').toBe(p.kills);
  expect(stats.committed).toBe(p.events);
  expect(report.duplicateDeliveries).toBeLessThanOrEqual(kills * UNSETTLED_BATCHES * p.batchSize);
  return current;
}

// ------------------------------------------------------------------ 4. broker killed and restarted

export async function brokerKill(p: { events: number; aggregates: number; kills: number; downMs: number; seed: number }): Promise<void> {
  const res = new Resources();
  try {
    const node: RabbitNode = res.add(await startRabbitNode(), (n) => n.dispose());
    const s = await setup('PostgreSQL', node.url);
    res.add(s, (x) => x.res.close());
    const relay = s.relay('broker-kill', ['--batch-size', '200']);
    const port = await relay.metricsPort();
    let writing = true;
    const paceMs = Math.floor((8 * (p.kills * (p.downMs + 4000) + 4000)) / p.events);
    const writers = s.write({ total: p.events, aggregates: p.aggregates, paceMs }, p.seed).finally(() => {
      writing = false;
    });
    for (let k = 0; k < p.kills; k++) {
      const before = s.log.deliveries.length;
      await waitUntil('events flowing', async () => s.log.deliveries.length > before + 100, 90_000);
      await node.kill(); // SIGKILL of beam.smp: unconfirmed publishes are lost with it
      await sleep(p.downMs);
      await node.start();
    }
    expect(writing || s.log.pending().length > 0, 'the broker kills happened while events were in flight').toBe(true);
    await writers;
    const drainMs = await drain(s.collector, 180_000);
    const samples = await scrape(port);
    const failures = metric(samples, 'outbox_publish_failures_total{reason="connection"}') + metric(samples, 'outbox_publish_failures_total{reason="timeout"}');
    checkAndRecord(`4 broker SIGKILL x${p.kills} + restart`, s.log, drainMs, `${failures} transient publish failures; durable queue`);
    expect(failures, 'the relay saw the broker go away').toBeGreaterThan(0);
    expect(await count(s.target, `SELECT count(*) AS n FROM ${tableName('PostgreSQL', s.db.schema, 'quarantine')}`)).toBe(0);
  } finally {
    await res.close();
  }
}

// ------------------------------------------------------------------ 5. broker frozen (SIGSTOP)

export async function brokerFreeze(p: { events: number; aggregates: number; freezeMs: number; seed: number }): Promise<void> {
  const res = new Resources();
  try {
    const node: RabbitNode = res.add(await startRabbitNode(), (n) => {
      n.resume();
      return n.dispose();
    });
    const s = await setup('PostgreSQL', node.url);
    res.add(s, (x) => x.res.close());
    const relay = s.relay('broker-freeze', ['--batch-size', '500']);
    const port = await relay.metricsPort();
    const events = tableName('PostgreSQL', s.db.schema, 'events');
    const quarantine = tableName('PostgreSQL', s.db.schema, 'quarantine');
    // Writers keep going through the freeze: the database is the buffer.
    const paceMs = Math.floor((8 * (p.freezeMs + 8000)) / p.events);
    const writers = s.write({ total: p.events, aggregates: p.aggregates, paceMs }, p.seed);
    await waitUntil('events flowing', async () => s.log.deliveries.length > 200, 60_000);
    node.pause();
    const frozenAt = Date.now();
    let maxAttempts = 0;
    let maxQuarantine = 0;
    let maxRss = 0;
    let breakerSeen = false;
    let timeouts = 0;
    while (Date.now() - frozenAt < p.freezeMs) {
      maxAttempts = Math.max(maxAttempts, await count(s.target, `SELECT coalesce(max(attempts), 0) AS n FROM ${events}`));
      maxQuarantine = Math.max(maxQuarantine, await count(s.target, `SELECT count(*) AS n FROM ${quarantine}`));
      maxRss = Math.max(maxRss, (await rssMiB(relay.child.pid)) ?? 0);
      const samples = await scrape(port);
      if (metric(samples, 'outbox_circuit_breaker_open') === 1) breakerSeen = true;
      timeouts = metric(samples, 'outbox_publish_failures_total{reason="timeout"}');
      await sleep(500);
    }
    const backlogAtThaw = await count(s.target, `SELECT count(*) AS n FROM ${events}`);
    node.resume();
    await writers;
    const drainMs = await drain(s.collector, 180_000);
    maxAttempts = Math.max(maxAttempts, await count(s.target, `SELECT coalesce(max(attempts), 0) AS n FROM ${events}`));
    checkAndRecord(
      `5 broker SIGSTOP ${(p.freezeMs / 1000).toFixed(0)} s`,
      s.log,
      drainMs,
      `confirm timeouts ${timeouts}; max attempts ${maxAttempts}; quarantined ${maxQuarantine}; relay RSS max ${maxRss.toFixed(0)} MiB; backlog at thaw ${backlogAtThaw}`,
    );
    expect(timeouts, 'the relay timed out waiting for confirms').toBeGreaterThan(0);
    expect(breakerSeen, 'the circuit breaker opened while the broker was frozen').toBe(true);
    expect(maxAttempts, 'a hung broker must not burn attempts').toBe(0);
    expect(maxQuarantine, 'a hung broker must not quarantine anything').toBe(0);
    expect(backlogAtThaw, 'events piled up in the database, not in the relay').toBeGreaterThan(0);
    // Bounded: one batch in flight, not the backlog. (Generous: a leak of the backlog's payloads would still be caught only at larger sizes.)
    expect(maxRss).toBeLessThan(400);
  } finally {
    await res.close();
  }
}

// ------------------------------------------------------------------ 3. paused relay is fenced

export async function pausedRelay(p: { events: number; aggregates: number; seed: number }): Promise<void> {
  const s = await setup('PostgreSQL');
  try {
    // The backlog is written first. A stops itself (the test hook) in the middle of its third
    // batch: published and confirmed, not yet marked — where a random SIGSTOP lands only now and
    // then. B starts once A is frozen: started together, a fast B could drain A's share before
    // A reached a third batch (seen on a loaded machine), and the scenario would test nothing.
    const stats = await s.write({ total: p.events, aggregates: p.aggregates }, p.seed);
    progress(`3: backlog of ${stats.committed} written`);
    const extra = ['--batch-size', '500', '--lease-ttl-ms', '2000'];
    const a = s.relay('zombie-a', extra, { OUTBOX_RELAY_FAULT_FREEZE_BEFORE_SETTLE: '3' });
    const leases = tableName('PostgreSQL', s.db.schema, 'leases');
    const started = Date.now();
    const epochs = async (): Promise<Map<number, { owner: string | null; epoch: number }>> =>
      new Map(
        (await s.target.database.query<{ shard: unknown; owner: string | null; epoch: unknown }>(`SELECT shard, owner, epoch FROM ${leases}`)).rows.map((r) => [
          Number(r.shard),
          { owner: r.owner, epoch: Number(r.epoch) },
        ]),
      );
    const batchShards = await frozenRelay(a, 'before-settle');
    s.relay('healthy-b', extra);
    const outputAtPause = a.output().length;
    const before = await epochs();
    for (const shard of batchShards) expect(before.get(shard)?.owner, `A held shard ${shard} of its frozen batch`).toBe('zombie-a');
    progress(`3: A frozen before settling a batch of ${batchShards.length} shards after ${s.log.deliveries.length} deliveries`);
    // B takes every shard once A's leases expire; each takeover moves the shard's epoch on.
    await waitUntil(
      'B owns all 64 shards',
      async () => (await count(s.target, `SELECT count(*) AS n FROM ${leases} WHERE owner = 'healthy-b' AND expires_at > now()`)) === 64,
      30_000,
    );
    const afterTakeover = await epochs();
    for (const shard of batchShards)
      expect(afterTakeover.get(shard)!.epoch, `shard ${shard} epoch moved on takeover`).toBeGreaterThan(before.get(shard)!.epoch);
    await sleep(1000);
    a.child.kill('SIGCONT');
    progress(`3: B took over; A resumed`);
    // A wakes up with its batch confirmed: its marks must be refused by the fence.
    const fenced = await waitUntil(
      "zombie A's late marks refused",
      async () => {
        const match = /"shards":\[[\d,]*\],"events":(\d+),"msg":"lease lost: marks refused/.exec(a.output().slice(outputAtPause));
        return match ? Number(match[1]) : undefined;
      },
      30_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nrelay A's log after SIGCONT:\n${a.output().slice(outputAtPause).slice(-3000)}`);
    });
    const drainMs = await drain(s.collector, 180_000);
    checkAndRecord(
      '3 relay SIGSTOP past lease, SIGCONT',
      s.log,
      drainMs - 0,
      `A's late marks refused for ${fenced} events; epochs bumped on the ${batchShards.length} shards of its frozen batch; ${((Date.now() - started) / 1000) | 0} s`,
    );
    expect(fenced).toBeGreaterThan(0);
    expect(stats.committed).toBe(p.events);
  } finally {
    await s.res.close();
  }
}

// ------------------------------------------------------------------ 13. relay frozen inside its settle transaction

/** The line the relay's test hook (packages/relay/src/fault-hooks.ts) writes right before it SIGSTOPs itself. */
const FROZEN_LINE = { 'in-settle': /OUTBOX_FAULT frozen-in-settle (\{[^\n]*\})/, 'before-settle': /OUTBOX_FAULT frozen-before-settle (\{[^\n]*\})/ };

/** Resolves with the shards of the batch `relay` was settling once it froze itself (the test hook) at `where`. */
export async function frozenRelay(relay: ManagedRelay, where: keyof typeof FROZEN_LINE, timeoutMs = 60_000): Promise<number[]> {
  return waitUntil(
    `relay ${relay.id} frozen ${where}`,
    async () => {
      const match = FROZEN_LINE[where].exec(relay.output());
      if (!match && relay.child.exitCode !== null) throw new Error(`relay ${relay.id} exited ${relay.child.exitCode}: ${relay.output().slice(-2000)}`);
      return match ? (JSON.parse(match[1]!) as { shards: number[] }).shards : undefined;
    },
    timeoutMs,
  );
}

/**
 * Relay A stops itself (SIGSTOP, the test hook) right after its settle transaction locked its
 * lease rows, so the transaction stays open holding them; relay B must still take A's shards —
 * the locked ones too — once A's lease expires, while a writer keeps committing. Reports the time
 * from the freeze to B's first publish of an event of a locked shard written after the freeze
 * (an event A cannot have published); then A resumes and must mark nothing B owns.
 */
export async function frozenInTransaction(p: { kind: DatabaseKind; events: number; aggregates: number; ttlMs: number; seed: number }): Promise<void> {
  const s = await setup(p.kind);
  try {
    const extra = ['--batch-size', '200', '--lease-ttl-ms', String(p.ttlMs)];
    const leases = tableName(p.kind, s.db.schema, 'leases');
    const a = s.relay('frozen-a', extra, { OUTBOX_RELAY_FAULT_FREEZE_IN_SETTLE: '5' });
    const b = s.relay('healthy-b', extra);
    // Paced so events keep arriving on every shard for well past the takeover.
    const concurrency = 4;
    const writers = s.write({ total: p.events, aggregates: p.aggregates, concurrency, paceMs: Math.floor((concurrency * 30_000) / p.events) }, p.seed);
    const locked = await frozenRelay(a, 'in-settle');
    const frozenAt = Date.now();
    expect(locked.length, 'A froze holding lease rows').toBeGreaterThan(0);
    const epochs = async (): Promise<Map<number, { owner: string | null; epoch: number }>> =>
      new Map(
        (await s.target.database.query<{ shard: unknown; owner: string | null; epoch: unknown }>(`SELECT shard, owner, epoch FROM ${leases}`)).rows.map((r) => [
          Number(r.shard),
          { owner: r.owner, epoch: Number(r.epoch) },
        ]),
      );
    const before = await epochs();
    const writtenBefore = new Set(s.log.attempts.map((attempt) => attempt.id));
    const lockedSet = new Set(locked);
    progress(`13: A frozen in its settle transaction holding ${locked.length} lease rows`);
    // B's first publish of a locked shard's event that was written after the freeze.
    let seen = s.log.deliveries.length;
    const tookOverMs = await waitUntil(
      'B publishing events of the shards A holds locked',
      async () => {
        const deliveries = s.log.deliveries;
        for (; seen < deliveries.length; seen++) {
          const d = deliveries[seen]!;
          if (d.aggregateType && d.aggregateId && !writtenBefore.has(d.id) && lockedSet.has(shardOf(d.aggregateType, String(d.aggregateId))))
            return Date.now() - frozenAt;
        }
        return undefined;
      },
      30 * p.ttlMs,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\nrelay B's log:\n${b.output().slice(-3000)}`);
    });
    const after = await epochs();
    for (const shard of locked) {
      expect(after.get(shard)?.owner, `shard ${shard} taken over by B`).toBe('healthy-b');
      expect(after.get(shard)!.epoch, `shard ${shard}'s epoch moved on takeover`).toBeGreaterThan(before.get(shard)!.epoch);
    }
    const outputAtResume = a.output().length;
    a.child.kill('SIGCONT');
    progress(`13: B published a locked shard after ${tookOverMs} ms; A resumed`);
    const stats = await writers;
    const drainMs = await drain(s.collector, 180_000);
    // Whatever A's woken transaction does (its session was ended by the server, or its marks are
    // refused by the fence), it must not have marked the shards B owns: the checker finds no loss.
    const ownedByA = [...(await epochs()).values()].filter((row) => row.owner === 'frozen-a').length;
    checkAndRecord(
      `13 relay frozen inside its settle transaction (${p.kind})`,
      s.log,
      drainMs,
      `${locked.length} lease rows locked; B published them ${(tookOverMs / 1000).toFixed(1)} s after the freeze (lease ttl ${p.ttlMs / 1000} s); A after SIGCONT: ${summarizeWake(a.output().slice(outputAtResume))}; A owns ${ownedByA} shards at the end`,
    );
    expect(stats.committed).toBe(p.events);
  } finally {
    await s.res.close();
  }
}

/** What a relay logged after it was resumed, in a few words for the table. */
function summarizeWake(output: string): string {
  const fenced = /"events":(\d+),"msg":"lease lost: marks refused/.exec(output);
  if (fenced) return `marks refused for ${fenced[1]} events`;
  if (/relay ack failed/.test(output)) return 'its transaction was gone (ack retried, then fenced)';
  return 'nothing to refuse';
}

// ------------------------------------------------------------------ 9. rollbacks and savepoints

export async function rollbacks(p: { kind: DatabaseKind; events: number; aggregates: number; seed: number }): Promise<void> {
  const s = await setup(p.kind);
  try {
    s.relay('rollbacks');
    const stats = await s.write({ total: p.events, aggregates: p.aggregates, rollbackRate: 0.1, savepointRate: 0.1 }, p.seed);
    const drainMs = await drain(s.collector, 120_000);
    checkAndRecord(`9 rollbacks 10% + savepoints (${p.kind})`, s.log, drainMs, `${stats.rolledBack} rolled back, ${stats.savepoints} undone at a savepoint`);
    expect(stats.rolledBack).toBeGreaterThan(0);
    expect(stats.savepoints).toBeGreaterThan(0);
    expect(stats.unknown).toBe(0);
  } finally {
    await s.res.close();
  }
}

// ------------------------------------------------------------------ 11. poison events

export async function poison(p: { events: number; aggregates: number; seed: number }): Promise<void> {
  const s = await setup('PostgreSQL');
  try {
    const relay = s.relay('poison', ['--max-attempts', '2', '--max-message-bytes', String(64 * 1024)]);
    await relay.metricsPort();
    // Normal traffic, and two poisoned aggregates whose first event cannot be published.
    const normal = s.write({ total: p.events, aggregates: p.aggregates }, p.seed);
    const nowhere = `/okt_nowhere_${uniqueName('q')}`; // default exchange, a queue that does not exist: returned
    const held = new Set<string>();
    const poisonIds: Record<string, string> = {};
    const big = 'x'.repeat(100 * 1024); // above --max-message-bytes 64 KiB
    for (const [aggregateId, first] of [
      ['unroutable-1', { destination: nowhere, payload: { n: 0 } }],
      ['oversized-1', { payload: { blob: big } }],
    ] as const) {
      const written = await s.target.database.transaction((tx) =>
        writeEvents(s.target.dialect, tx, [
          { aggregateType: 'poison', aggregateId, type: 'poison.first', ...first },
          { aggregateType: 'poison', aggregateId, type: 'poison.after', payload: { n: 1 } },
          { aggregateType: 'poison', aggregateId, type: 'poison.after', payload: { n: 2 } },
        ]),
      );
      poisonIds[aggregateId] = written[0]!.id;
      for (const event of written) {
        s.log.attempted(event, 'committed');
        held.add(event.id);
      }
    }
    await normal;
    const quarantine = tableName('PostgreSQL', s.db.schema, 'quarantine');
    const rows = await waitUntil(
      'both poison events quarantined',
      async () => {
        const { rows } = await s.target.database.query<{ id: string; reason: string; status: string; attempts: number }>(
          `SELECT id::text AS id, reason, status, attempts FROM ${quarantine} ORDER BY id`,
        );
        return rows.length >= 2 ? rows : undefined;
      },
      90_000,
    );
    // Everything but the parked aggregates drains.
    const started = Date.now();
    await s.collector.waitFor((log) => log.pending().every((a) => held.has(a.id)), 120_000);
    await sleep(1500);
    const drainMs = Date.now() - started;
    const report = s.log.check();
    const lostIds = report.lost.map((a) => a.id).sort();
    expect(lostIds, 'only the parked aggregates are held back').toEqual([...held].sort());
    expect(rows.map((r) => r.id).sort()).toEqual(Object.values(poisonIds).sort());
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get(poisonIds['unroutable-1']!)!.reason).toMatch(/unroutable/i);
    expect(byId.get(poisonIds['oversized-1']!)!.reason).toMatch(/maxMessageBytes|too large|too-large/i);
    for (const row of rows) expect(row.status).toBe('parked');
    // The events after a poisoned one wait in the pending table, untouched.
    const events = tableName('PostgreSQL', s.db.schema, 'events');
    expect(await count(s.target, `SELECT count(*) AS n FROM ${events} WHERE aggregate_type = 'poison' AND attempts = 0`)).toBe(4);
    expect(await count(s.target, `SELECT count(*) AS n FROM ${events} WHERE aggregate_type <> 'poison'`)).toBe(0);
    // The report minus the deliberately parked events must be clean.
    checkAndRecord(
      '11 poison: unroutable + 100 KiB over a 64 KiB limit',
      s.log,
      drainMs,
      `2 quarantined (parked) with reason; ${held.size} held events excluded from lost`,
      {
        ...report,
        lost: report.lost.filter((a) => !held.has(a.id)),
        ok: report.unexpected.length === 0 && report.orderViolations.length === 0 && report.mismatches.length === 0,
      },
    );
  } finally {
    await s.res.close();
  }
}

// ------------------------------------------------------------------ 6. private PostgreSQL crash-restarted

export async function databaseRestart(p: { events: number; aggregates: number; restarts: number; downMs: number; seed: number }): Promise<void> {
  const res = new Resources();
  try {
    const cluster: PostgresCluster = res.add(await startPostgresCluster({ settings: ['max_connections = 100'] }), (c) => c.dispose());
    const brokerUrl = await serviceUrl('rabbitmq');
    const schema = uniqueName('okt');
    const target = res.add(await openTarget(cluster.url, schema), (t) => t.database.close());
    const exchange = uniqueName('okt_fx');
    const log = new DeliveryLog();
    const collector = res.add(await durableCollector(brokerUrl, exchange, log), (c) => c.close());
    const relays: ManagedRelay[] = [];
    res.add(relays, killAll);
    const relay = spawnRelay({ databaseUrl: cluster.url, schema, brokerUrl, exchange, relayId: 'db-restart', extra: ['--lease-ttl-ms', '3000'] });
    relays.push(relay);
    await relay.metricsPort();
    const paceMs = Math.floor((8 * (p.restarts * (p.downMs + 5000) + 3000)) / p.events);
    let stop = false;
    const writers = trackedWriters(res, target, log)({ total: p.events, aggregates: p.aggregates, paceMs, tolerateErrors: true, stop: () => stop }, p.seed);
    for (let k = 0; k < p.restarts; k++) {
      const before = log.deliveries.length;
      await waitUntil('events flowing', async () => log.deliveries.length > before + 100, 90_000);
      await cluster.stop('immediate');
      await sleep(p.downMs);
      await cluster.start();
    }
    const stats = await writers;
    stop = true;
    const drainMs = await drain(collector, 180_000);
    checkAndRecord(
      `6 PostgreSQL immediate shutdown x${p.restarts}`,
      log,
      drainMs,
      `${stats.unknown} writes of unknown outcome; relay still running: ${relay.child.exitCode === null}`,
    );
    expect(relay.child.exitCode, `the relay kept running: ${relay.output().slice(-1500)}`).toBeNull();
    expect(stats.errors, 'writers saw the database go away').toBeGreaterThan(0);
    expect(relay.output()).toMatch(/relay cycle failed|relay ack failed|relay lease failed/);
  } finally {
    await res.close();
  }
}

// ------------------------------------------------------------------ 2. three relays, one killed, one added

export async function relayChurn(p: { eventsPerPhase: number; aggregates: number; seed: number }): Promise<void> {
  const s = await setup('PostgreSQL');
  try {
    const ttl = 2000;
    const extra = ['--batch-size', '200', '--lease-ttl-ms', String(ttl)];
    const leases = tableName('PostgreSQL', s.db.schema, 'leases');
    const owners = async (): Promise<Map<string, number>> =>
      new Map(
        (
          await s.target.database.query<{ owner: string; n: string }>(
            `SELECT owner, count(*) AS n FROM ${leases} WHERE expires_at > now() AND owner IS NOT NULL GROUP BY owner`,
          )
        ).rows.map((r) => [r.owner, Number(r.n)]),
      );
    const [a, b, c] = ['churn-a', 'churn-b', 'churn-c'].map((id) => s.relay(id, extra));
    void a;
    void b;
    await waitUntil(
      'three relays share 64 shards',
      async () => {
        const o = await owners();
        return o.size === 3 && [...o.values()].reduce((x, y) => x + y, 0) === 64;
      },
      30_000,
    );
    const phase = async (name: string, seed: number, during?: () => Promise<void>): Promise<DeliveryLog> => {
      const phaseLog = new DeliveryLog();
      const writers = s.write({ total: p.eventsPerPhase, aggregates: p.aggregates, aggregateType: name, paceMs: 2 }, seed);
      if (during) await during();
      await writers;
      await drain(s.collector, 120_000);
      for (const attempt of s.log.attempts) if (attempt.aggregateType === name) phaseLog.attempted(attempt, attempt.outcome);
      for (const d of s.log.deliveries)
        if (d.aggregateType === name)
          phaseLog.delivered({
            id: d.id,
            ...(d.aggregateType ? { aggregateType: d.aggregateType } : {}),
            ...(d.aggregateId ? { aggregateId: d.aggregateId } : {}),
            ...(d.sequence !== undefined ? { sequence: d.sequence } : {}),
          });
      return phaseLog;
    };
    const t0 = Date.now();
    const calm1 = await phase('calm1', p.seed);
    let movedMs = 0;
    const churn = await phase('churn', p.seed + 1, async () => {
      await waitUntil('churn events flowing', async () => s.log.deliveries.some((d) => d.aggregateType === 'churn'), 30_000);
      await c!.stop('SIGKILL');
      const killedAt = Date.now();
      s.relay('churn-d', extra);
      // Shards move once the dead relay's lease expires (plus a renewal interval for the survivors to notice).
      await waitUntil(
        'shards moved from C to A, B, D',
        async () => {
          const o = await owners();
          return !o.has('churn-c') && o.size === 3 && [...o.values()].reduce((x, y) => x + y, 0) === 64;
        },
        ttl * 5,
      );
      movedMs = Date.now() - killedAt;
    });
    const calm2 = await phase('calm2', p.seed + 2);
    const drainMs = Date.now() - t0;
    const r1 = calm1.check();
    const r2 = churn.check();
    const r3 = calm2.check();
    checkAndRecord(
      '2 three relays, kill one, add one',
      s.log,
      drainMs,
      `shards moved ${(movedMs / 1000).toFixed(1)} s after the kill (ttl ${ttl / 1000} s); dups calm/churn/calm ${r1.duplicateDeliveries}/${r2.duplicateDeliveries}/${r3.duplicateDeliveries}`,
    );
    expect(r1.duplicateDeliveries, 'fault-free phase before the churn').toBe(0);
    expect(r3.duplicateDeliveries, 'fault-free phase after the churn').toBe(0);
    expect(r2.duplicateDeliveries).toBeLessThanOrEqual(200);
  } finally {
    await s.res.close();
  }
}

// ------------------------------------------------------------------ 8. long-running transaction

export async function longTransaction(p: { holdMs: number; others: number; aggregates: number; seed: number }): Promise<void> {
  const s = await setup('PostgreSQL');
  try {
    const relay = s.relay('long-tx');
    const port = await relay.metricsPort();
    let longEventId = '';
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let inserted: () => void = () => undefined;
    const insertedP = new Promise<void>((resolve) => (inserted = resolve));
    const long = s.target.database.transaction(async (tx) => {
      const [event] = await writeEvents(s.target.dialect, tx, { aggregateType: 'slow', aggregateId: 'slow-1', type: 'slow.done', payload: {} });
      longEventId = event!.id;
      inserted();
      await released;
      return event!;
    });
    await insertedP;
    const started = Date.now();
    const others = s.write({ total: p.others, aggregates: p.aggregates }, p.seed);
    await others;
    await waitUntil('the others delivered', async () => s.log.pending().length === 0, 120_000);
    expect(s.log.wasDelivered(longEventId), "the open transaction's event is invisible until it commits").toBe(false);
    await sleep(Math.max(0, p.holdMs - (Date.now() - started)));
    release();
    const event = await long;
    s.log.attempted(event, 'committed');
    const drainMs = await drain(s.collector, 60_000);
    const samples = await scrape(port);
    const holdS = p.holdMs / 1000;
    // occurred_at is stamped when the event was written (inside the long transaction), so its
    // publish lag spans the stall: at least one observation above the bucket just below holdMs.
    const buckets = [...samples.keys()].filter((k) => k.startsWith('outbox_publish_lag_seconds_bucket{le="') && !k.includes('+Inf'));
    const les = buckets
      .map((k) => Number(/le="([^"]+)"/.exec(k)![1]))
      .filter((le) => le < holdS)
      .sort((x, y) => x - y);
    const le = les[les.length - 1]!;
    const over = metric(samples, 'outbox_publish_lag_seconds_count') - metric(samples, `outbox_publish_lag_seconds_bucket{le="${le}"}`);
    checkAndRecord(`8 transaction open ${holdS} s`, s.log, drainMs, `${over} publish-lag observation(s) > ${le} s`);
    expect(over).toBeGreaterThanOrEqual(1);
  } finally {
    await s.res.close();
  }
}

// ------------------------------------------------------------------ 10. consumer killed around its commit

/**
 * End to end: the relay publishes into a queue an inbox consumer reads; consumer processes (the
 * inbox tests' fixture) SIGKILL themselves after their commit / before it, alternately, and a
 * last one finishes the queue. The deliveries judged are the handler's EFFECTS (one row per
 * application): every committed event must have exactly one.
 */
export async function consumerKills(p: { kind: DatabaseKind; events: number; aggregates: number; killsEach: number; seed: number }): Promise<void> {
  const { openInboxDb } = await import('../fixtures/inbox-db.mjs');
  const { RabbitTestBed, startConsumerProcess } = await import('../support/inbox-helpers.js');
  const res = new Resources();
  try {
    const db = res.add(await createTestDatabase(p.kind), (d) => d.dispose());
    const target = res.add(await openTarget(db.url, db.schema), (t) => t.database.close());
    // Opened for its inbox tables; the consumer process uses them.
    res.add(await openInboxDb(p.kind, db.url, db.schema), (i) => i.close());
    const brokerUrl = await serviceUrl('rabbitmq');
    const rabbit = res.add(new RabbitTestBed(brokerUrl), (r) => r.close());
    const exchange = uniqueName('okt_fx');
    const queue = uniqueName('okt_inbox');
    await rabbit.connection.exchangeDeclare({ exchange, type: 'topic', durable: true });
    res.add(exchange, (x) => rabbit.connection.exchangeDelete({ exchange: x }).catch(() => undefined));
    await rabbit.declare(queue);
    await rabbit.connection.queueBind({ queue, exchange, routingKey: '#' });
    const log = new DeliveryLog();
    const relays: ManagedRelay[] = [];
    res.add(relays, killAll);
    relays.push(spawnRelay({ databaseUrl: db.url, schema: db.schema, brokerUrl, exchange, relayId: 'inbox-e2e' }));
    const stats = await trackedWriters(res, target, log)({ total: p.events, aggregates: p.aggregates, rollbackRate: 0.05 }, p.seed);
    const consumerName = `c_${queue}`;
    const env = (mode: string): Record<string, string> => ({
      INBOX_KIND: p.kind,
      INBOX_DB_URL: db.url,
      INBOX_SCHEMA: db.schema ?? '',
      INBOX_AMQP_URL: brokerUrl,
      INBOX_QUEUE: queue,
      INBOX_CONSUMER: consumerName,
      INBOX_MODE: mode,
    });
    const started = Date.now();
    let kills = 0;
    for (let k = 0; k < p.killsEach; k++) {
      for (const mode of ['kill-after-commit', 'kill-in-handler']) {
        const child = startConsumerProcess(env(mode));
        try {
          await child.ready;
          const { signal, output } = await waitUntil(`consumer (${mode}) to die`, async () => child.exited, 60_000);
          expect(signal, `consumer ${mode} ended by its own SIGKILL: ${output}`).toBe('SIGKILL');
          kills++;
        } finally {
          child.kill();
        }
      }
    }
    const last = startConsumerProcess(env('none'));
    res.add(last, async (c) => c.kill());
    await last.ready;
    const effectsTable = p.kind === 'PostgreSQL' ? `"${db.schema}"."effects"` : p.kind === 'MariaDB' ? `\`${db.schema}\`.\`effects\`` : '"effects"';
    const committed = log.attempts.filter((a) => a.outcome === 'committed').length;
    await waitUntil(
      'every committed event applied and the queue empty',
      async () => (await count(target, `SELECT count(DISTINCT event_id) AS n FROM ${effectsTable}`)) >= committed && (await rabbit.messageCount(queue)) === 0,
      120_000,
    );
    await sleep(1000);
    const drainMs = Date.now() - started;
    const { rows } = await target.database.query<{ event_id: string }>(`SELECT event_id FROM ${effectsTable}`);
    for (const row of rows) {
      const attempt = log.attemptOf(row.event_id);
      log.delivered({ id: row.event_id, ...(attempt ? { aggregateType: attempt.aggregateType, aggregateId: attempt.aggregateId } : {}) });
    }
    const report = checkAndRecord(
      `10 consumer SIGKILL x${kills} around commit (${p.kind})`,
      log,
      drainMs,
      `"delivered" = effect rows (order n/a: the effects table keeps none); ${stats.rolledBack} rolled back`,
      log.check(),
      { orderJudged: false },
    );
    expect(report.duplicateDeliveries, 'the effect of every event applied exactly once').toBe(0);
  } finally {
    await res.close();
  }
}

// ------------------------------------------------------------------ 12. least privilege

/**
 * The relay runs as a PostgreSQL role with DML on the outbox tables only (no DDL, no access to
 * the business table, no sequences table) and as a RabbitMQ user that may only write to its
 * exchange (no configure, no read), on a private cluster and a private node.
 */
export async function leastPrivilege(p: { events: number; aggregates: number; seed: number }): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const { Connection } = await import('rabbitmq-client');
  const pg = (await import('pg')).default;
  const res = new Resources();
  try {
    const cluster: PostgresCluster = res.add(await startPostgresCluster(), (c) => c.dispose());
    const node: RabbitNode = res.add(await startRabbitNode(), (n) => n.dispose());
    const schema = uniqueName('okt');
    const target = res.add(await openTarget(cluster.url, schema), (t) => t.database.close());
    const t = (name: string): string => `"${schema}"."outbox_${name}"`;
    await target.database.query('CREATE TABLE public.orders (id text PRIMARY KEY, total int NOT NULL)');
    for (const statement of [
      `CREATE ROLE okt_relay LOGIN PASSWORD 'relay-pw'`,
      `GRANT USAGE ON SCHEMA "${schema}" TO okt_relay`,
      `GRANT SELECT, UPDATE, DELETE ON ${t('events')} TO okt_relay`,
      `GRANT SELECT, INSERT ON ${t('published')} TO okt_relay`,
      `GRANT SELECT, INSERT ON ${t('quarantine')} TO okt_relay`,
      `GRANT SELECT, UPDATE ON ${t('leases')} TO okt_relay`,
      `GRANT SELECT, INSERT, UPDATE, DELETE ON ${t('relays')} TO okt_relay`,
      `GRANT SELECT ON ${t('migrations')} TO okt_relay`,
      `REVOKE CREATE ON SCHEMA public FROM PUBLIC`,
      `REVOKE ALL ON public.orders FROM PUBLIC`,
    ])
      await target.database.query(statement);
    const exchange = uniqueName('okt_fx');
    const ctl = (...args: string[]): string => execFileSync('/usr/sbin/rabbitmqctl', ['-n', node.nodeName, ...args], { encoding: 'utf8', stdio: 'pipe' });
    ctl('add_user', 'okt_relay', 'relay-pw');
    // write: only this exchange; configure and read: nothing. The relay runs with
    // --no-declare-exchange (without it, it declares its exchange and needs configure on it).
    ctl('set_permissions', '-p', '/', 'okt_relay', '^$', `^${exchange}$`, '^$');
    const log = new DeliveryLog();
    const collector = res.add(await durableCollector(node.url, exchange, log), (c) => c.close()); // as guest: declares exchange + queue
    const relayDbUrl = cluster.url.replace('postgres@', 'okt_relay:relay-pw@');
    const relayBrokerUrl = node.url.replace('guest:guest@', 'okt_relay:relay-pw@');

    // The role really is that narrow: no business table, no DDL.
    const probe = new pg.Client({ connectionString: relayDbUrl });
    await probe.connect();
    res.add(probe, (c) => c.end());
    await expect(probe.query('SELECT * FROM public.orders')).rejects.toThrow(/permission denied/);
    await expect(probe.query(`CREATE TABLE "${schema}".x (a int)`)).rejects.toThrow(/permission denied/);
    await expect(probe.query(`INSERT INTO ${t('events')} (id) VALUES (gen_random_uuid())`)).rejects.toThrow(/permission denied/);
    await expect(probe.query(`SELECT * FROM ${t('sequences')}`)).rejects.toThrow(/permission denied/);
    // And the broker user may not declare queues or publish elsewhere.
    const amqp = new Connection(relayBrokerUrl);
    res.add(amqp, (c) => c.close());
    await expect(amqp.queueDeclare({ queue: uniqueName('okt_nope') })).rejects.toThrow(/ACCESS_REFUSED|access to/i);
    const other = amqp.createPublisher({ confirm: true });
    res.add(other, (o) => o.close());
    await expect(other.send({ exchange: 'amq.topic', routingKey: 'x' }, 'x')).rejects.toThrow(/ACCESS_REFUSED|access to/i);

    const relays: ManagedRelay[] = [];
    res.add(relays, killAll);
    const relay = spawnRelay({
      databaseUrl: relayDbUrl,
      schema,
      brokerUrl: relayBrokerUrl,
      exchange,
      relayId: 'least-privilege',
      extra: ['--no-declare-exchange'],
    });
    relays.push(relay);
    await relay.metricsPort();
    // The application (another role) writes the business row and the event in one transaction.
    const write = trackedWriters(res, target, log);
    const stats = await write({ total: p.events, aggregates: p.aggregates, rollbackRate: 0.05 }, p.seed);
    await target.database.query(`INSERT INTO public.orders (id, total) VALUES ('o-1', 5)`);
    const drainMs = await drain(collector, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\nrelay log:\n${relay.output().slice(-3000)}`);
    });
    checkAndRecord('12 least privilege (PG DML-only role, AMQP write-only)', log, drainMs, `${stats.rolledBack} rolled back; relay logged no errors`);
    expect(relay.output(), 'no permission errors in the relay log').not.toMatch(/permission denied|ACCESS_REFUSED|"level":50/);
    expect(await relay.stop('SIGTERM')).toBe(0);
  } finally {
    await res.close();
  }
}

// ------------------------------------------------------------------ 7. relay cut off from the database (netns)

/**
 * A private PostgreSQL cluster runs inside a network namespace the test creates, reachable only
 * through a veth pair the test creates (10.231.N.1 host side, 10.231.N.2 namespace side). While
 * the relay publishes and marks batches, the host end of the link goes down (packets stop; TCP
 * connections stay open and retransmit), then comes back. Needs root.
 */
export async function networkCut(p: { events: number; aggregates: number; cuts: number; cutMs: number; seed: number }): Promise<void> {
  const { execFileSync } = await import('node:child_process');
  const ip = (...args: string[]): string => execFileSync('ip', args, { encoding: 'utf8', stdio: 'pipe' });
  const res = new Resources();
  const tag = `${process.pid % 10_000}${Math.floor(Math.random() * 100)}`;
  const ns = `okt_ns${tag}`;
  const hostIf = `okth${tag}`;
  const nsIf = `oktn${tag}`;
  const net = 1 + Math.floor(Math.random() * 250);
  const hostAddr = `10.231.${net}.1`;
  const nsAddr = `10.231.${net}.2`;
  try {
    ip('netns', 'add', ns);
    res.add(ns, async (name) => ip('netns', 'del', name));
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
    res.add(hostIf, async (name) => {
      try {
        ip('link', 'del', name);
      } catch {
        // gone with the namespace
      }
    });
    ip('link', 'set', nsIf, 'netns', ns);
    ip('addr', 'add', `${hostAddr}/30`, 'dev', hostIf);
    ip('link', 'set', hostIf, 'up');
    ip('netns', 'exec', ns, 'ip', 'addr', 'add', `${nsAddr}/30`, 'dev', nsIf);
    ip('netns', 'exec', ns, 'ip', 'link', 'set', nsIf, 'up');
    ip('netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
    const cluster: PostgresCluster = res.add(await startPostgresCluster({ netns: ns, host: nsAddr }), (c) => c.dispose());
    const brokerUrl = await serviceUrl('rabbitmq');
    const schema = uniqueName('okt');
    const target = res.add(await openTarget(cluster.url, schema), (t) => t.database.close());
    const exchange = uniqueName('okt_fx');
    const log = new DeliveryLog();
    const collector = res.add(await durableCollector(brokerUrl, exchange, log), (c) => c.close());
    // Backlog first, so the relay is claiming, publishing and marking when the link goes down.
    const stats = await trackedWriters(res, target, log)({ total: p.events, aggregates: p.aggregates }, p.seed);
    const relays: ManagedRelay[] = [];
    res.add(relays, killAll);
    const relay = spawnRelay({
      databaseUrl: cluster.url,
      schema,
      brokerUrl,
      exchange,
      relayId: 'netns-cut',
      extra: ['--batch-size', '500', '--lease-ttl-ms', '15000'],
    });
    relays.push(relay);
    const started = Date.now();
    for (let k = 0; k < p.cuts; k++) {
      const before = log.deliveries.length;
      await waitUntil('relay publishing', async () => log.deliveries.length > before + 300, 60_000);
      ip('link', 'set', hostIf, 'down');
      progress(`7: link down after ${log.deliveries.length} deliveries`);
      await sleep(p.cutMs);
      ip('link', 'set', hostIf, 'up');
      progress('7: link up');
    }
    await collector.waitFor((l) => l.pending().length === 0, 240_000);
    await sleep(1000);
    const drainMs = Date.now() - started;
    const errors = (relay.output().match(/"level":50/g) ?? []).length;
    checkAndRecord(
      `7 netns: DB link down ${p.cutMs / 1000} s x${p.cuts}`,
      log,
      drainMs,
      `${errors} relay error lines while cut; relay running: ${relay.child.exitCode === null}`,
    );
    expect(stats.committed).toBe(p.events);
    expect(relay.child.exitCode, relay.output().slice(-1500)).toBeNull();
  } finally {
    await res.close();
  }
}
