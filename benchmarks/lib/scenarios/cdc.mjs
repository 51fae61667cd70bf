// Scenario "cdc": polling + wake-ups vs log-based change data capture, in one run, on private
// database servers started for the purpose (the shared PostgreSQL runs wal_level=replica, the
// shared MariaDB log_bin=OFF), with RabbitMQ. Each source is one entry of CDC_SOURCES, its
// `database` naming the server of CDC_SERVERS it runs on.
import { processTreeCpuMs } from '../machine-cpu.mjs';
import { fileURLToPath } from 'node:url';
import { Relay } from '@outboxkit/core';
import { CHECKPOINT_TABLE, mysqlBinlogSource } from '@outboxkit/mysql';
import { postgresLogicalSource, resolveLogicalNames, setupLogicalSource } from '@outboxkit/postgres';
import { orderEvent, sleep, summarize, withResources, PRODUCER_CONNECTIONS } from '../util.mjs';
import { commitLatencyFor, forkChild, openLoop, producerPoolSize, rawSystem, repeat, steadyPoint, summarizeRuns, withSetup } from './common.mjs';
import { peerReplicationSlot, runPeerChild } from './peer.mjs';

/**
 * The private servers the sources run on, by the target kind of lib/targets.mjs they serve:
 * `start()` resolves to `{ url, cpuMs(), close() }`, `cpuMs` the server's processes' CPU so far.
 */
const CDC_SERVERS = {
  postgres: {
    name: 'private PostgreSQL cluster (wal_level=logical)',
    async start() {
      const { startPostgresCluster } = await import('@outboxkit/testkit');
      const cluster = await startPostgresCluster({ logicalReplication: true, settings: ['max_connections = 200'] });
      return { url: cluster.url, cpuMs: () => processTreeCpuMs(cluster.pid), close: () => cluster.dispose() };
    },
  },
  mysql: {
    name: 'private MariaDB server (--log-bin --binlog-format=ROW)',
    async start() {
      const { startMariaDbInstance } = await import('@outboxkit/testkit');
      // Its URL is root's (every grant, the binlog reader's REPLICATION SLAVE and BINLOG MONITOR included).
      const maria = await startMariaDbInstance({ binlog: { serverId: 7 } });
      // mariadbd is one process: its threads' CPU is in its own /proc stat.
      return { url: maria.url, cpuMs: () => processTreeCpuMs(maria.pid), close: () => maria.dispose() };
    },
  },
};

/**
 * The sources compared. Each says which server it reads, how producers commit for it (`notify`:
 * whether the transaction sends the wake-up), what it needs before events are written
 * (`prepare`, e.g. a replication slot), and how to run it (`reader` -> `{ start, stop }`).
 */
/**
 * outboxkit's polling relay on `database` as a source, with the target's wake-up (PostgreSQL's
 * LISTEN/NOTIFY; MariaDB's in-process commit signal) or without any.
 */
function pollingSource({ id, label, database, wake }) {
  return {
    id,
    label,
    database,
    notify: wake,
    prepare: async () => {},
    reader: (ctx, target, publisher) =>
      new Relay({ dialect: target.dialect, database: target.db, publisher, ...ctx.relayOptions, wakeSources: target.wakeSources(wake) }),
    cleanup: async () => {},
  };
}

/** `run --source logical`'s reader (`connector`: the database's LogicalSourceConnector) on the target's own URL. */
function changeLogReader(connector) {
  return (ctx, target, publisher) =>
    connector.reader(
      target.url,
      { dialect: target.dialect, database: target.db, wakeSources: [] },
      { publisher, ...withoutPolling(ctx.relayOptions), poisonPolicy: 'dead-letter' },
    );
}

export const CDC_SOURCES = [
  // The design's trade-off table has a column for polling alone: it is measured too.
  pollingSource({ id: 'poll-nowake', label: 'polling only, no wake-up', database: 'postgres', wake: false }),
  pollingSource({ id: 'poll', label: 'polling + LISTEN/NOTIFY wake-ups', database: 'postgres', wake: true }),
  {
    id: 'logical',
    label: 'logical replication (pgoutput slot)',
    database: 'postgres',
    // A change log needs no wake-up: the producers' transactions send no NOTIFY.
    notify: false,
    prepare: (target) => setupLogicalSource(target.db, target.dialect.tables, resolveLogicalNames(target.dialect.tables)),
    reader: changeLogReader(postgresLogicalSource),
    // Its walsender attached to the slot: the stream is open.
    streaming: async (target) =>
      (await target.db.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [resolveLogicalNames(target.dialect.tables).slot])).rows[0]
        ?.active === true,
    cleanup: (target) => dropSlot(target.db, resolveLogicalNames(target.dialect.tables).slot),
  },
  // No `mysql-poll`: MariaDB has no wake-up across processes (the in-process commit signal reaches
  // a relay embedded in the producers' process only), so a relay in its own process, as every
  // source runs here, polls.
  pollingSource({ id: 'mysql-poll-nowake', label: 'MariaDB polling only (no wake-up across processes)', database: 'mysql', wake: false }),
  {
    id: 'binlog',
    label: 'MariaDB row binlog (checkpoint row)',
    database: 'mysql',
    notify: false,
    // `setup-logical`: checks the binlog settings, creates the checkpoint at the current position
    // (the bench targets use the default table names, which `{}` resolves to).
    prepare: (target) => mysqlBinlogSource.setup(target.url, {}),
    reader: changeLogReader(mysqlBinlogSource),
    // Its binlog dump thread on the server: the stream is open.
    streaming: async (target) =>
      Number((await target.db.query("SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")).rows[0]?.n) > 0,
    // The checkpoint table lives in the target's database; gone, the next prepare starts afresh.
    cleanup: (target) => target.db.query(`DROP TABLE IF EXISTS \`${CHECKPOINT_TABLE}\``),
  },
];

/** Per server, the change-log source whose load levels the latency floor (`directFloor`) is measured at. */
const FLOOR_AT_RATES_OF = { postgres: 'logical', mysql: 'binlog' };

/** The source whose drain rate the peer's logical-replication listener is compared with. */
const PEER_COMPARED_WITH = 'logical';

export const cdc = {
  id: 'cdc',
  title: 'Polling vs CDC (log-based change data capture)',
  describe: (s) =>
    'On private database servers started for this scenario (PostgreSQL with wal_level=logical: the shared one runs wal_level=replica; MariaDB with ' +
    '--log-bin --binlog-format=ROW: the shared one runs log_bin=OFF), the same run, RabbitMQ: ' +
    `sources ${CDC_SOURCES.map((source) => `\`${source.id}\` (${source.label})`).join(', ')}. Per source: drain of ${s.cdcEvents.toLocaleString('en')} events over ${s.aggregates} aggregates ` +
    '(written first, the source started with the clock, until every event is consumed); commit -> consume latency in an open loop at ' +
    `${s.steadyFractions.map((f) => `${f * 100}%`).join(', ')} of that source's end-to-end capacity (${s.cdcSteadySeconds} s windows; the capacity is the commit rate ` +
    `an open loop offered the source's drain rate for ${s.cdcCapacitySeconds} s achieved, producers, database, source and consumer sharing the machine, and at most the drain rate; ` +
    "the source in a process of its own, as `outbox-relay run` runs); the latency floor at the change-log sources' rates (no relay: each producer sends its event with the raw client right after COMMIT); " +
    `producer commits/s (closed loop, ${s.producerConcurrency} producers, ${s.producerSeconds} s, business transaction + outbox event) with the source running, ` +
    'against the same transaction without any wake-up and no relay at all (CDC needs no NOTIFY); and database server CPU (user + system of all its processes, from /proc) per event. ' +
    `The peer pg-transactional-outbox 0.5.7 drains the same ${s.cdcEvents.toLocaleString('en')} events with its logical-replication listener (its README's replication setup, ` +
    'segment = aggregate id with its segment-mutex concurrency controller for per-aggregate order, a handler publishing with rabbitmq-client confirms) in a child process.',
  async run(ctx) {
    const servers = {};
    try {
      for (const kind of new Set(CDC_SOURCES.map((source) => source.database))) {
        ctx.log(`cdc: starting the ${CDC_SERVERS[kind].name}`);
        servers[kind] = await CDC_SERVERS[kind].start();
      }
      // The scenarios' helpers read their database URL from ctx.urls: point them at the private server.
      const on = (kind) => ({ ...ctx, urls: { ...ctx.urls, [kind]: servers[kind].url }, commitLatencyMs: {}, drainRates: {} });
      const contexts = Object.fromEntries(Object.keys(servers).map((kind) => [kind, on(kind)]));
      const sources = {};
      for (const source of CDC_SOURCES) {
        const sctx = contexts[source.database];
        const server = servers[source.database];
        const drains = await repeat(ctx, `cdc drain ${source.id}`, () => sourceDrain(sctx, source, server));
        const drain = summarizeRuns(drains);
        const { capacity, saturation, steady } = await sourceSteady(sctx, source, server, drain.rate.median);
        sources[source.id] = { label: source.label, database: source.database, drain, capacity, saturation, steady };
      }
      const floor = {};
      for (const [kind, id] of Object.entries(FLOOR_AT_RATES_OF)) {
        if (sources[id] !== undefined) floor[kind] = { comparedWith: id, steady: await directFloor(contexts[kind], kind, sources[id].steady) };
      }
      const producer = {};
      for (const kind of Object.keys(servers)) producer[kind] = await producerRates(contexts[kind], kind, servers[kind]);
      const peer = await peerDrain(contexts.postgres, servers.postgres, sources[PEER_COMPARED_WITH]?.drain.rate.median);
      return {
        servers: Object.fromEntries(Object.keys(servers).map((kind) => [kind, CDC_SERVERS[kind].name])),
        events: ctx.sizes.cdcEvents,
        sources,
        floor,
        producer,
        peer,
      };
    } finally {
      for (const server of Object.values(servers)) await server.close().catch((error) => ctx.log(`cdc: stopping a private server failed: ${error.message}`));
    }
  },
};

/** One drain: the source set up, the events written, the source started with the clock, until the consumer has them all. */
function sourceDrain(ctx, source, server) {
  const count = ctx.sizes.cdcEvents;
  return withSetup(ctx, source.database, async (target, broker) => {
    await source.prepare(target);
    try {
      await target.prewrite(count, ctx.sizes.aggregates);
      const counter = await broker.consume();
      const publisher = broker.publisher();
      const reader = source.reader(ctx, target, publisher);
      try {
        const cpuBefore = server.cpuMs();
        const { cpuMs, wallMs } = await withResources(async () => {
          await reader.start();
          await counter.waitFor(count, ctx.timeoutMs);
        });
        const dbCpuMs = server.cpuMs() - cpuBefore;
        return { rate: count / (wallMs / 1000), cpuMs, dbCpuMs, dbCpuUsPerEvent: (dbCpuMs * 1000) / count };
      } finally {
        await reader.stop();
        await publisher.close();
        await counter.close?.();
      }
    } finally {
      await source.cleanup(target).catch((error) => ctx.log(`cdc: cleanup of ${source.id} failed: ${error.message}`));
    }
  });
}

/**
 * Open-loop latency at each configured fraction of the source's end-to-end capacity: the commit
 * rate the whole system sustains with this source (producers, database, source and consumer on
 * the same cores), measured as the achieved rate of an open loop offered the source's drain rate,
 * and never above that drain rate. The drain rate alone overstates it on a small machine: there
 * the producers' own transactions saturate the cores first, and fractions of the drain rate
 * offered more than the system could commit (latency then measures a queue, not the source).
 * One target per figure, a fresh reader and slot per run.
 */
async function sourceSteady(ctx, source, server, drainRate) {
  const openLoopAt = async (fraction, rate, label, seconds = ctx.sizes.cdcSteadySeconds) => {
    const { runs, point } = await loadLevel(ctx, source.database, fraction, rate, label, (target, broker) =>
      steadyRun(ctx, source, server, target, broker, rate, seconds),
    );
    return {
      ...point,
      dbCpuUsPerEvent: summarize(runs.map((run) => run.dbCpuUsPerEvent)),
      sourceCpuUsPerEvent: summarize(runs.map((run) => run.sourceCpuUsPerEvent)),
    };
  };
  // A short window: offered more than it can commit, the loop runs until its backlog is committed.
  const saturation = await openLoopAt(
    1,
    drainRate,
    `cdc capacity ${source.id} (offered its drain rate, ${Math.round(drainRate)}/s)`,
    ctx.sizes.cdcCapacitySeconds,
  );
  const capacity = Math.min(drainRate, saturation.achievedRate.median);
  const points = [];
  for (const fraction of ctx.sizes.steadyFractions) {
    const rate = Math.max(1, capacity * fraction);
    points.push(await openLoopAt(fraction, rate, `cdc steady ${source.id} at ${Math.round(fraction * 100)}% (${Math.round(rate)}/s)`));
  }
  return {
    capacity,
    saturation: { offeredRate: saturation.offeredRate, achievedRate: saturation.achievedRate, percentiles: saturation.percentiles },
    steady: points,
  };
}

/**
 * One open-loop window of `seconds` at `rate` on a fresh slot (checkpoint), the source in a
 * process of its own (lib/source-child.mjs), as `outbox-relay run` runs beside a service: it does
 * not share the producers' and the consumer's event loop (on a small machine it still shares the
 * cores). `sourceCpuUsPerEvent` is that process's CPU per committed event.
 */
async function steadyRun(ctx, source, server, target, broker, rate, seconds) {
  // A fresh slot per run: a reader started on the previous run's slot first re-decodes the WAL
  // since its restart_lsn, which PostgreSQL moves only at its running-xacts snapshots (every
  // 15 s), so all of the previous 5 s window: a restart's cost (300-500 ms of stall seen), not
  // the steady state measured here.
  await source.prepare(target);
  let child = null;
  let sourceCpuMs = NaN;
  try {
    const system = {
      // Timed from an open stream, as polling is from its first claim: the connection's set-up
      // is a start-up cost, not steady-state latency.
      async start() {
        child = await startSourceChild(ctx, source, target, broker);
        const deadline = Date.now() + 30_000;
        while (source.streaming !== undefined && !(await source.streaming(target))) {
          if (Date.now() > deadline) throw new Error(`cdc: ${source.id} did not open its stream within 30 s`);
          await sleep(20);
        }
      },
      async stop() {
        const running = child;
        child = null;
        sourceCpuMs = (await running?.stop())?.cpuMs ?? NaN;
      },
      write: (i) => target.businessTx(i, { outbox: true, notify: source.notify, wake: source.notify, event: orderEvent(i, ctx.sizes.aggregates) }),
    };
    const cpuBefore = server.cpuMs();
    const result = await openLoop(ctx, broker, system, { rate, seconds });
    const dbCpuMs = server.cpuMs() - cpuBefore;
    const events = Math.max(1, result.events);
    return { ...result, dbCpuMs, dbCpuUsPerEvent: (dbCpuMs * 1000) / events, sourceCpuUsPerEvent: (sourceCpuMs * 1000) / events };
  } finally {
    await child?.stop().catch(() => {});
    await source.cleanup(target).catch((error) => ctx.log(`cdc: cleanup of ${source.id} failed: ${error.message}`));
  }
}

/**
 * The latency floor of any relay on this machine: the producer sends the event itself with the
 * broker's raw client (the same message the publisher sends) right after its COMMIT, the dual write
 * an outbox replaces, at the offered rates of `points` (a source's steady state). The transaction
 * is the change-log sources' (the outbox row, no wake-up); no relay runs.
 */
async function directFloor(ctx, kind, points) {
  const floor = [];
  for (const { fraction, targetRate: rate } of points) {
    const { point } = await loadLevel(
      ctx,
      kind,
      fraction,
      rate,
      `cdc floor ${kind}: publish after COMMIT at ${Math.round(fraction * 100)}% (${Math.round(rate)}/s)`,
      (target, broker) =>
        openLoop(
          ctx,
          broker,
          rawSystem(broker, ctx.sizes.aggregates, (i) =>
            target.businessTx(i, { outbox: true, notify: false, wake: false, event: orderEvent(i, ctx.sizes.aggregates) }),
          ),
          { rate, seconds: ctx.sizes.cdcSteadySeconds },
        ),
    );
    floor.push(point);
  }
  return floor;
}

/**
 * One load level on `kind`: a fresh target whose producers' pool is sized for `rate` (from the
 * measured commit latency), `run(target, broker)` repeated on it; its runs and their steady point
 * (`fraction`: the share of the capacity `rate` is).
 */
async function loadLevel(ctx, kind, fraction, rate, label, run) {
  const producerConnections = producerPoolSize(kind, rate, await commitLatencyFor(ctx, kind));
  const runs = await withSetup(ctx, kind, (target, broker) => repeat(ctx, label, () => run(target, broker)), { producerConnections });
  return { runs, point: steadyPoint(fraction, rate, runs, producerConnections) };
}

/**
 * Closed-loop producer commits/s on `kind`'s server: the business transaction + the outbox event
 * without any wake-up and no relay running (the baseline); per source, the same with that source
 * running (and its own wake-up, if it has one) in a process of its own (lib/source-child.mjs, so
 * it does not share the producers' event loop; on a small machine it still shares the cores), and
 * the source's transaction alone (its wake-up and its slot, the source stopped): what the source
 * costs the transaction itself. A fresh target per variant, so no source sees another's rows; the
 * variants rotate between runs.
 */
async function producerRates(ctx, kind, server) {
  const variants = [{ id: 'none', label: 'no wake-up, no relay', notify: false, source: null, running: false }];
  for (const source of CDC_SOURCES.filter((candidate) => candidate.database === kind)) {
    variants.push({ id: source.id, label: `${source.label}, running`, notify: source.notify, source, running: true });
    // The source's transaction (its wake-up, its slot) without the source's own CPU beside the producers.
    variants.push({ id: `${source.id}-tx`, label: `${source.label}: its transaction, source not running`, notify: source.notify, source, running: false });
  }
  const runs = await repeat(ctx, `cdc producer ${kind}`, async (run) => {
    const row = {};
    for (const variant of variants.map((_, i) => variants[(i + run - 1) % variants.length])) {
      const figures = await withSetup(ctx, kind, async (target, broker) => {
        const { source } = variant;
        await source?.prepare(target);
        const child = variant.running ? await startSourceChild(ctx, source, target, broker) : null;
        let stopped = false;
        try {
          let commits = 0;
          let i = 0;
          const until = performance.now() + ctx.sizes.producerSeconds * 1000;
          const cpuBefore = server.cpuMs();
          const { wallMs } = await withResources(() =>
            Promise.all(
              Array.from({ length: ctx.sizes.producerConcurrency }, async () => {
                while (performance.now() < until) {
                  const n = i++;
                  await target.businessTx(n, { outbox: true, notify: variant.notify, wake: variant.notify, event: orderEvent(n, ctx.sizes.aggregates) });
                  commits++;
                }
              }),
            ),
          );
          const dbCpuMs = server.cpuMs() - cpuBefore;
          const sourceCpuMs = child ? (await child.stop()).cpuMs : 0;
          stopped = true;
          return { rate: commits / (wallMs / 1000), dbCpuUsPerCommit: (dbCpuMs * 1000) / Math.max(1, commits), sourceCpuMs };
        } finally {
          if (!stopped) await child?.stop();
          await source?.cleanup(target).catch((error) => ctx.log(`cdc: cleanup of ${source.id} failed: ${error.message}`));
        }
      });
      row[variant.id] = figures.rate;
      row[`${variant.id} dbCpuUsPerCommit`] = figures.dbCpuUsPerCommit;
      if (variant.running) row[`${variant.id} sourceCpuMs`] = figures.sourceCpuMs;
    }
    for (const variant of variants.slice(1)) row[`${variant.id}/none`] = row[variant.id] / row.none;
    return row;
  });
  return { variants: variants.map((variant) => ({ id: variant.id, label: variant.label })), ...summarizeRuns(runs) };
}

const SOURCE_CHILD = fileURLToPath(new URL('../source-child.mjs', import.meta.url));

/** Starts `source` on `target` in lib/source-child.mjs; resolves once it runs, with its `stop()` (resolving to `{ cpuMs }`). */
async function startSourceChild(ctx, source, target, broker) {
  const job = { source: source.id, database: target.childConfig(), broker: broker.childConfig(), relayOptions: ctx.relayOptions };
  const child = forkChild(SOURCE_CHILD, job);
  const answer = () =>
    new Promise((resolve, reject) => {
      const onExit = (code) => reject(new Error(`source child ${source.id} exited with ${code} before answering`));
      child.once('exit', onExit);
      child.once('message', (message) => {
        child.off('exit', onExit);
        if (message.error) reject(new Error(`source child ${source.id}: ${message.error}`));
        else resolve(message);
      });
    });
  try {
    await answer();
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  return {
    /** Resolves with the child's own CPU while it ran. */
    async stop() {
      const stopped = answer();
      child.send('stop');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      try {
        return await stopped;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** The peer's logical-replication listener draining the same number of events, in its child process; and outboxkit's drain / the peer's. */
async function peerDrain(ctx, server, outboxkitRate) {
  const errors = [];
  const runs = await repeat(ctx, 'cdc peer drain (pg-transactional-outbox, logical replication, child process)', async () => {
    try {
      return await withSetup(ctx, 'postgres', async (target, broker) => {
        const cpuBefore = server.cpuMs();
        try {
          const result = await runPeerChild(
            ctx,
            target,
            broker,
            { mode: 'replication-drain', count: ctx.sizes.cdcEvents, aggregates: ctx.sizes.aggregates, producerConnections: PRODUCER_CONNECTIONS },
            Math.round(ctx.timeoutMs + 15_000),
          );
          // Includes the child's set-up and its writes: not comparable with the sources' drain CPU, so not reported per event.
          return { rate: result.rate, cpuMs: result.cpuMs, dbCpuMsWholeChild: server.cpuMs() - cpuBefore };
        } finally {
          await dropSlot(target.db, peerReplicationSlot(target.postgres.schema)).catch(() => {});
        }
      });
    } catch (error) {
      errors.push(error.message);
      ctx.log(`   failed: ${error.message}`);
      return { rate: NaN, cpuMs: NaN, dbCpuMsWholeChild: NaN };
    }
  });
  const drain = summarizeRuns(runs);
  return { drain, errors, outboxkitRate, ratio: outboxkitRate / drain.rate.median, comparedWith: PEER_COMPARED_WITH };
}

/** The relay options without the polling ones a log-based reader does not take. */
function withoutPolling({ pollIntervalMs: _poll, wakeSources: _wake, ...options }) {
  return options;
}

/** Drops `slot` once its walsender is gone (a stopped reader's walsender ends a moment later). */
async function dropSlot(db, slot) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const { rows } = await db.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (rows.length === 0) return;
    if (!rows[0].active) {
      await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
      return;
    }
    await sleep(100);
  }
  throw new Error(`replication slot ${slot} still active 5 s after its reader stopped`);
}
