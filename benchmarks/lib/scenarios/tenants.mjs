// Scenario "tenants": one `outbox-relay run --tenant-pattern` process serving 51 tenants, one of
// them with a large backlog: does the backlog hold the trickle tenants' events back?
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from 'rabbitmq-client';
import { writeEvents } from '@outboxkit/core';
import { relayConnectorFor } from '@outboxkit/relay';
import { latencyRecorder } from '../latency.mjs';
import { orderEvent, sleep, uniqueName } from '../util.mjs';

const CLI = fileURLToPath(new URL('../../../packages/relay/dist/cli.js', import.meta.url));
const PREWRITE_CHUNK = 500;
/** Every trickle tenant commits one event this often (50 tenants: 100 events/s in all). */
const TRICKLE_INTERVAL_MS = 500;
/** The relay's idle poll: MariaDB and SQLite have no cross-process wake-up, so the trickle waits for polls there. */
const POLL_INTERVAL_MS = 100;

/**
 * The phases, each with a relay process of its own on the same tenants: the trickle alone, the
 * trickle beside the backlog with the fair scheduler's default bound (16 cycles at once, waiting
 * tenants served round-robin), and the same with the bound above the tenant count (no tenant
 * ever waits for a turn: every relay claims when its pacer says so).
 */
const PHASES = [
  { id: 'alone', backlog: false, concurrency: 16 },
  { id: 'backlog', backlog: true, concurrency: 16 },
  { id: 'backlog-unbounded', backlog: true, concurrency: 1000 },
];

// The one DDL the scenario needs per database: where a tenant's tables live. Schema tenancy
// (PostgreSQL, MariaDB) creates the schema / database; SQLite tenants are files in one directory.
const HOMES = {
  postgres: (url) => ({
    url,
    create: (db, name) => db.query(`CREATE SCHEMA "${name}"`),
    drop: (db, name) => db.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`),
  }),
  mysql: (url) => ({
    url,
    create: (db, name) => db.query(`CREATE DATABASE \`${name}\``),
    drop: (db, name) => db.query(`DROP DATABASE IF EXISTS \`${name}\``),
  }),
  sqlite: () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-tenants-'));
    return { url: `sqlite:${dir}`, dir, create: async () => {}, drop: async () => {} };
  },
};

export const tenants = {
  id: 'tenants',
  title: 'Many tenants, one relay: a backlog beside a trickle',
  describe: (s) =>
    `One \`outbox-relay run --tenant-pattern\` process (its own process; RabbitMQ) serves ${s.trickleTenants + 1} tenants (PostgreSQL schemas, MariaDB databases, SQLite files). ` +
    `${s.trickleTenants} trickle tenants each commit one event every ${TRICKLE_INTERVAL_MS} ms; commit -> consume latency of those events (HDR histogram, both ends in the benchmark process). ` +
    `Phases, in one run, each with a fresh relay process: the trickle alone ("alone"); the trickle while the relay drains ${s.tenantBacklogEvents.toLocaleString('en')} events pending in the one other tenant, ` +
    'written before the relay starts (its tenant starts last, so the drain begins as the trickle does), with the fair scheduler at its default (`--tenant-concurrency 16`: 16 claim-publish cycles at once, waiting tenants served round-robin; "backlog"); ' +
    'and the same with `--tenant-concurrency 1000` (no tenant ever waits for a turn; "backlog-unbounded"). With a backlog the trickle runs until the backlog is drained. ' +
    `\`--poll-interval-ms ${POLL_INTERVAL_MS}\` everywhere (MariaDB and SQLite have no cross-process wake-up).`,
  async run(ctx) {
    const perDatabase = {};
    for (const kind of ctx.databases) {
      perDatabase[kind] = await tenantsRun(ctx, kind);
    }
    return { perDatabase };
  },
};

async function tenantsRun(ctx, kind) {
  const home = HOMES[kind](ctx.urls[kind]);
  const prefix = uniqueName('bench_tn');
  const names = {
    backlog: `${prefix}_zz_backlog`,
    trickle: Array.from({ length: ctx.sizes.trickleTenants }, (_, i) => `${prefix}_t${String(i).padStart(2, '0')}`),
  };
  const connector = await relayConnectorFor(home.url);
  const opened = new Map();
  // Schema tenancy: one pool for every tenant's writes; file tenancy: one database per file.
  const shared = connector.tenancy === 'schema' ? await connector.open(home.url, {}) : null;
  const open = async (name) => {
    if (!opened.has(name)) {
      if (shared) {
        await home.create(shared.database, name);
        opened.set(name, { dialect: connector.dialect(home.url, { tables: { schema: name } }), database: shared.database });
      } else {
        opened.set(name, await connector.open(`sqlite:${join(home.dir, name)}`, {}));
      }
      const target = opened.get(name);
      await target.dialect.migrate(target.database);
    }
    return opened.get(name);
  };
  const exchange = uniqueName('bench_tn');
  const connection = new Connection({ url: ctx.urls.rabbitmq, connectionName: exchange });
  connection.on('error', () => {});
  try {
    ctx.log(`tenants ${kind}: creating ${names.trickle.length + 1} tenants`);
    for (const name of [names.backlog, ...names.trickle]) await open(name);
    await connection.exchangeDeclare({ exchange, type: 'topic', durable: true });
    await connection.queueDeclare({ queue: exchange, durable: true });
    await connection.queueBind({ queue: exchange, exchange, routingKey: '#' });
    const phases = {};
    for (const phase of PHASES) {
      phases[phase.id] = await runPhase(ctx, kind, { phase, home, prefix, names, open, exchange, connection });
      ctx.log(
        `tenants ${kind} ${phase.id}: trickle p50 ${phases[phase.id].trickle.percentiles.p50.toFixed(1)} ms, p99 ${phases[phase.id].trickle.percentiles.p99.toFixed(1)} ms` +
          (phase.backlog ? `, backlog drained in ${phases[phase.id].backlogSeconds.toFixed(1)} s` : ''),
      );
    }
    return { tenants: names.trickle.length + 1, backlogEvents: ctx.sizes.tenantBacklogEvents, trickleIntervalMs: TRICKLE_INTERVAL_MS, phases };
  } finally {
    await connection.queueDelete({ queue: exchange }).catch(() => {});
    await connection.exchangeDelete({ exchange }).catch(() => {});
    await connection.close();
    for (const name of opened.keys()) {
      if (shared) await home.drop(shared.database, name).catch(() => {});
      else await opened.get(name).database.close();
    }
    await shared?.database.close();
    if (home.dir) rmSync(home.dir, { recursive: true, force: true });
  }
}

async function runPhase(ctx, kind, { phase, home, prefix, names, open, exchange, connection }) {
  const backlogCount = phase.backlog ? ctx.sizes.tenantBacklogEvents : 0;
  const big = await open(names.backlog);
  for (let start = 0; start < backlogCount; start += PREWRITE_CHUNK) {
    const events = Array.from({ length: Math.min(PREWRITE_CHUNK, backlogCount - start) }, (_, i) => ({
      ...orderEvent(start + i, 100),
      type: 'backlog.created',
    }));
    await big.database.transaction((tx) => writeEvents(big.dialect, tx, events));
  }
  const latency = latencyRecorder();
  let backlogDelivered = 0;
  const consumer = connection.createConsumer({ queue: exchange, qos: { prefetchCount: 512 }, concurrency: 1, queueOptions: { passive: true } }, (message) => {
    if (message.routingKey.startsWith('trickle.')) latency.delivered(message.messageId, performance.now());
    else backlogDelivered++;
  });
  consumer.on('error', () => {});
  const relay = startRelay(ctx, { url: home.url, pattern: `${prefix}_*`, exchange, concurrency: phase.concurrency });
  try {
    await relay.served;
    const started = performance.now();
    let stop = false;
    let committed = 0;
    // Every trickle tenant on its own clock, spread over the interval so the commits do not come in bursts.
    const writers = names.trickle.map(async (name, t) => {
      const target = await open(name);
      await sleep((t * TRICKLE_INTERVAL_MS) / names.trickle.length);
      for (let i = 0; !stop; i++) {
        const next = performance.now() + TRICKLE_INTERVAL_MS;
        const [written] = await target.database.transaction((tx) =>
          writeEvents(target.dialect, tx, { aggregateType: 'account', aggregateId: `${name}-${i % 4}`, type: `trickle.${t}`, payload: { i } }),
        );
        latency.committed(written.id, performance.now());
        committed++;
        await sleep(Math.max(0, next - performance.now()));
      }
    });
    // Alone: as long as the quick drain of a backlog takes at least; beside a backlog: until it is drained.
    const minimumMs = ctx.sizes.trickleSeconds * 1000;
    let backlogSeconds = 0;
    while (performance.now() - started < minimumMs || backlogDelivered < backlogCount) {
      await sleep(50);
      if (backlogCount > 0 && backlogDelivered >= backlogCount && backlogSeconds === 0) backlogSeconds = (performance.now() - started) / 1000;
      if (performance.now() - started > ctx.timeoutMs) throw new Error(`tenants ${kind} ${phase.id}: the backlog was not drained within ${ctx.timeoutMs} ms`);
    }
    if (backlogCount > 0 && backlogSeconds === 0) backlogSeconds = (performance.now() - started) / 1000;
    stop = true;
    await Promise.all(writers);
    const deadline = performance.now() + 30_000;
    while (latency.recorded < committed) {
      if (performance.now() > deadline) throw new Error(`tenants ${kind} ${phase.id}: ${committed - latency.recorded} trickle events not consumed within 30 s`);
      await sleep(20);
    }
    return { concurrency: phase.concurrency, backlogEvents: backlogCount, backlogSeconds, trickleEvents: committed, trickle: latency.summary() };
  } finally {
    await relay.stop();
    await consumer.close();
  }
}

/** `outbox-relay run` over the tenants; `served` resolves once it logged the tenants it serves. */
function startRelay(ctx, { url, pattern, exchange, concurrency }) {
  const args = [
    CLI,
    'run',
    '--database-url',
    url,
    '--tenant-pattern',
    pattern,
    '--tenant-concurrency',
    String(concurrency),
    '--broker-url',
    ctx.urls.rabbitmq,
    '--exchange',
    exchange,
    '--no-declare-exchange',
    '--poll-interval-ms',
    String(POLL_INTERVAL_MS),
    '--log-level',
    'info',
  ];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise((resolve) => child.on('close', resolve));
  const served = new Promise((resolve, reject) => {
    const look = (chunk) => {
      output += chunk;
      if (output.includes('"msg":"tenants served"')) resolve();
    };
    child.stdout.on('data', look);
    child.stderr.on('data', look);
    exited.then((code) => reject(new Error(`the relay exited (${code}) before serving its tenants: ${output.slice(-2000)}`)));
  });
  served.catch(() => {});
  return {
    served,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      if (/"level":50/.test(output))
        ctx.log(
          `tenants: the relay logged errors: ${output
            .split('\n')
            .filter((l) => l.includes('"level":50'))
            .slice(0, 3)
            .join(' | ')}`,
        );
    },
  };
}
