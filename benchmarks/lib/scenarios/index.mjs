// The ten scenarios. Each runs per database (the peer: PostgreSQL only), repeats `ctx.runs`
// times, and returns per-run figures plus their median and spread.
import { ALL_SHARDS, PRODUCER_CONNECTIONS } from '../targets.mjs';
import { orderEvent, withResources, summarize } from '../util.mjs';
import {
  withSetup,
  relayFor,
  steadyPoint,
  outboxkitSystem,
  measuredDrain,
  relayDrainRun,
  summarizeRuns,
  repeat,
  openLoop,
  withDrains,
  commitLatencyFor,
  producerPoolSize,
} from './common.mjs';
import { runPeerChild, PEER_BATCH_SIZE } from './peer.mjs';
import { brokers } from './brokers.mjs';
import { tenants } from './tenants.mjs';
import { cdc } from './cdc.mjs';
import { IN_FLIGHT } from '../brokers/index.mjs';

/** The drain rate this run measured for `kind` (scenario 1), or a short measurement of it. */
async function drainRateFor(ctx, kind) {
  if (ctx.drainRates[kind] === undefined) {
    ctx.log(`${kind}: measuring the drain rate for the steady-state rates`);
    const { rate } = await relayDrainRun(ctx, kind, { count: ctx.sizes.drainEvents, aggregates: ctx.sizes.aggregates });
    ctx.drainRates[kind] = rate;
  }
  return ctx.drainRates[kind];
}

export const drain = {
  id: 'drain',
  title: 'Drain: relay vs raw broker publish',
  describe: (s) =>
    `${s.drainSizes.map((n) => n.toLocaleString('en')).join(' and ')} pending events over ${s.aggregates} aggregates are written first; the relay (\`drain()\`, in a process of its own) publishes them; ` +
    'events/s until every event is confirmed AND consumed (the consumer runs in the benchmark process). In the same run, the same messages are published straight ' +
    `with rabbitmq-client (confirms, persistent, mandatory, the publisher's properties and headers, ${IN_FLIGHT} in flight like the relay's \`maxInFlight\`), also in a process of its own; ` +
    "the order of the two alternates between runs. CPU per event is each publishing process's own (user + system, set-up excluded).",
  async run(ctx) {
    const perSize = {};
    for (const count of ctx.sizes.drainSizes) {
      const perDatabase = {};
      for (const kind of ctx.databases) {
        const runs = await repeat(ctx, `drain ${kind} ${count} events`, (run) =>
          relayDrainRun(ctx, kind, { count, aggregates: ctx.sizes.aggregates, raw: true, rawFirst: run % 2 === 0, ownProcess: true }),
        );
        for (const run of runs) {
          run.ratio = run.rate / run.rawRate;
          run.cpuRatio = run.cpuUsPerEvent / run.rawCpuUsPerEvent;
          // What the machine's CPU alone allows once both are CPU-bound (see machine-cpu.mjs).
          if (run.machineUsPerEvent > 0) run.cpuBoundRatio = run.rawMachineUsPerEvent / run.machineUsPerEvent;
        }
        perDatabase[kind] = { events: count, ...summarizeRuns(runs) };
      }
      perSize[count] = perDatabase;
    }
    const largest = Math.max(...ctx.sizes.drainSizes);
    for (const kind of ctx.databases) ctx.drainRates[kind] ??= perSize[largest][kind].rate.median;
    return { perDatabase: perSize[largest], perSize };
  },
};

export const naive = {
  id: 'naive',
  title: 'Naive relay vs outboxkit relay',
  describe: (s) =>
    `${s.naiveEvents} pending events over ${s.aggregates} aggregates. Naive: one row at a time — select the oldest row, publish, ` +
    'await its confirm, delete it (one statement per event). Tuned: the outboxkit `Relay` (claim in batches, pipelined ' +
    'confirms across aggregates, one statement per batch). Both without history, so both do one delete per event.',
  async run(ctx) {
    const perDatabase = {};
    for (const kind of ctx.databases) {
      // One target per run: the tuned drain, then the naive one, on the same tables and queue.
      const runs = await repeat(ctx, `naive vs tuned ${kind}`, () =>
        withDrains(ctx, kind, async ({ relayDrain, drainWith }) => {
          const tuned = await relayDrain(ctx.sizes.naiveEvents, ctx.sizes.aggregates, { keepHistory: false });
          const naiveRun = await drainWith(ctx.sizes.naiveEvents, ctx.sizes.aggregates, async ({ target, publisher }) => {
            for (;;) {
              const [event] = await target.dialect.claim(target.db, ALL_SHARDS, 1);
              if (!event) return;
              await publisher.publish(event);
              await target.dialect.markPublished(target.db, [event.id], false);
            }
          });
          return {
            tunedRate: tuned.rate,
            naiveRate: naiveRun.rate,
            speedup: tuned.rate / naiveRun.rate,
            tunedCpuMs: tuned.cpuMs,
            naiveCpuMs: naiveRun.cpuMs,
            peakRssMiB: Math.max(tuned.peakRssMiB, naiveRun.peakRssMiB),
          };
        }),
      );
      perDatabase[kind] = summarizeRuns(runs);
    }
    return { perDatabase };
  },
};

/**
 * Steady state of one system at the configured rates. `makeSystem(target, broker)` builds an
 * in-process system; or `runOne(target, broker, { rate, seconds, producerConnections })` runs one
 * measurement itself (the peer, in its child process). The producers' pool is sized from the
 * measured commit latency (see `producerPoolSize`). A run that throws (the peer's deadline) is
 * counted as failed and left out of the figures.
 */
async function steadyCurves(ctx, kind, label, baseRate, makeSystem, runOne, seconds = ctx.sizes.steadySeconds) {
  const points = [];
  const latencyMs = await commitLatencyFor(ctx, kind);
  for (const fraction of ctx.sizes.steadyFractions) {
    const rate = Math.max(1, baseRate * fraction);
    const producerConnections = producerPoolSize(kind, rate, latencyMs);
    const errors = [];
    // One target and queue per figure (its runs follow each other on it), a fresh system each run.
    const runs = await withSetup(
      ctx,
      kind,
      async (target, broker) =>
        (
          await repeat(ctx, `${label} at ${Math.round(fraction * 100)}% (${Math.round(rate)}/s, ${producerConnections} producer connections)`, async () => {
            try {
              return await (runOne
                ? runOne(target, broker, { rate, seconds, producerConnections })
                : openLoop(ctx, broker, makeSystem(target, broker), { rate, seconds }));
            } catch (error) {
              if (!runOne) throw error;
              await broker.purge().catch(() => {}); // what a killed child left in the queue
              errors.push(error.message);
              ctx.log(`   failed: ${error.message}`);
              return null;
            }
          })
        ).filter(Boolean),
      { producerConnections },
    );
    points.push(runs.length > 0 ? steadyPoint(fraction, rate, runs, producerConnections, errors) : { fraction, targetRate: rate, producerConnections, errors });
  }
  return points;
}

export const steady = {
  id: 'steady',
  title: 'Steady state: commit -> consumer latency (open loop)',
  describe: (s) =>
    `Producers commit business transactions (an order row + the event through the raw \`enqueue\`) at ${s.steadyFractions.map((f) => `${f * 100}%`).join(', ')} ` +
    `of this run's measured drain rate, scheduled by the clock (open loop) for ${s.steadySeconds} s, then until every event is consumed. ` +
    'Latency from COMMIT acknowledged to the consumer receiving the event (HDR histogram). Wake-up on: PostgreSQL LISTEN/NOTIFY, ' +
    'MariaDB/SQLite the in-process commit signal; off: polling only (adaptive, `pollIntervalMs` 1000 when idle). ' +
    "The producers' pool (PostgreSQL, MariaDB) is sized to target rate x commit latency (measured once per database: 8 closed-loop producers, outbox write on) x 2, " +
    'between 8 and 32 connections, so the target rate is offered; "offered" is the rate transactions were started at, "achieved" the rate they committed at — ' +
    'achieved below target with offered at target means the machine could not commit faster, not that the producers lagged: the CPU table under each database says where ' +
    "the machine's CPU went per committed event and how busy its cores were (the producers, the relay, the consumer, the database and the broker share them).",
  async run(ctx) {
    const perDatabase = {};
    for (const kind of ctx.databases) {
      const baseRate = await drainRateFor(ctx, kind);
      perDatabase[kind] = { drainRate: baseRate, modes: {} };
      for (const wake of [true, false]) {
        const mode = wake ? 'wake-on' : 'polling';
        perDatabase[kind].modes[mode] = await steadyCurves(ctx, kind, `steady ${kind} ${mode}`, baseRate, (target, broker) =>
          outboxkitSystem(ctx, target, broker, wake),
        );
      }
      if (kind !== 'sqlite') perDatabase[kind].commitLatencyMs = ctx.commitLatencyMs[kind];
    }
    return { perDatabase };
  },
};

export const history = {
  id: 'history',
  title: 'History table size',
  describe: (s) =>
    `Drain rate of ${s.historyDrainEvents} events (${s.aggregates} aggregates, history kept) with an empty history table and with ` +
    `${s.historyRows.toLocaleString('en')} history rows bulk-inserted in SQL (generate_series on PostgreSQL, a recursive CTE on MariaDB and SQLite).`,
  async run(ctx) {
    const perDatabase = {};
    for (const kind of ctx.databases) {
      perDatabase[kind] = await withSetup(ctx, kind, async (target, broker) => {
        const counter = await broker.consume();
        const publisher = broker.publisher();
        try {
          const drainOnce = async () => {
            await target.prewrite(ctx.sizes.historyDrainEvents, ctx.sizes.aggregates);
            const relay = relayFor(ctx, target, publisher, { wakeSources: [] });
            return measuredDrain(ctx, counter, ctx.sizes.historyDrainEvents, () => relay.drain());
          };
          const empty = await repeat(ctx, `history ${kind} empty`, drainOnce);
          ctx.log(`history ${kind}: bulk-inserting ${ctx.sizes.historyRows} history rows`);
          const insert = await withResources(() => target.addHistory(ctx.sizes.historyRows));
          const large = await repeat(ctx, `history ${kind} ${ctx.sizes.historyRows} rows`, drainOnce);
          return {
            emptyRate: summarize(empty.map((r) => r.rate)),
            largeRate: summarize(large.map((r) => r.rate)),
            ratio: summarize(large.map((r, i) => r.rate / empty[i].rate)),
            historyInsertSeconds: insert.wallMs / 1000,
            cpuMs: summarize([...empty, ...large].map((r) => r.cpuMs)),
            peakRssMiB: summarize([...empty, ...large].map((r) => r.peakRssMiB)),
          };
        } finally {
          await publisher.close();
        }
      });
    }
    return { perDatabase };
  },
};

export const producer = {
  id: 'producer',
  title: 'Producer overhead of the outbox write',
  describe: (s) =>
    `Closed loop: ${s.producerConcurrency} concurrent producers commit business transactions for ${s.producerSeconds} s each: ` +
    "the order row alone; the order row + a plain row of the event's size in a table without any index (the floor: the cost of writing any row at all); " +
    'the order row + the outbox event (wake-up on: NOTIFY on PostgreSQL); on PostgreSQL also + the event without NOTIFY ' +
    '(`createPostgresDialect({ notify: false })`). No relay runs. Variants alternate within each run. ' +
    '`overheadVsFloor` = rate(business + outbox) / rate(business + plain row).',
  async run(ctx) {
    const perDatabase = {};
    for (const kind of ctx.databases) {
      perDatabase[kind] = await withSetup(ctx, kind, async (target) => {
        const variants = [
          { name: 'business only', outbox: false },
          { name: 'business + plain row', outbox: false, plainRow: true },
          { name: 'business + outbox', outbox: true, notify: true },
        ];
        if (kind === 'postgres') variants.push({ name: 'business + outbox, no NOTIFY', outbox: true, notify: false });
        const runs = await repeat(ctx, `producer ${kind}`, async (run) => {
          const row = {};
          // Rotated per run, so no variant always runs first (warm-up) or last.
          const order = variants.map((_, i) => variants[(i + run - 1) % variants.length]);
          for (const variant of order) {
            let commits = 0;
            let i = 0;
            const until = performance.now() + ctx.sizes.producerSeconds * 1000;
            const res = await withResources(() =>
              Promise.all(
                Array.from({ length: ctx.sizes.producerConcurrency }, async () => {
                  while (performance.now() < until) {
                    const n = i++;
                    await target.businessTx(n, {
                      outbox: variant.outbox,
                      notify: variant.notify,
                      plainRow: variant.plainRow,
                      event: orderEvent(n, ctx.sizes.aggregates),
                    });
                    commits++;
                  }
                }),
              ),
            );
            row[variant.name] = commits / (res.wallMs / 1000);
            row[`${variant.name} cpuMs`] = res.cpuMs;
          }
          row.overheadVsFloor = row['business + outbox'] / row['business + plain row'];
          if (kind === 'postgres') row.overheadVsFloorNoNotify = row['business + outbox, no NOTIFY'] / row['business + plain row'];
          return row;
        });
        const summary = summarizeRuns(runs);
        const base = runs.map((r) => r['business only']);
        const overhead = Object.fromEntries(variants.slice(1).map((v) => [v.name, summarize(runs.map((r, i) => r[v.name] / base[i]))]));
        return {
          variants: variants.map((v) => v.name),
          rates: summary,
          relativeToBusinessOnly: overhead,
          overheadVsFloor: summary.overheadVsFloor,
          ...(summary.overheadVsFloorNoNotify ? { overheadVsFloorNoNotify: summary.overheadVsFloorNoNotify } : {}),
        };
      });
    }
    return { perDatabase };
  },
};

export const ordering = {
  id: 'ordering',
  title: 'Ordering cost: 1 aggregate vs many',
  describe: (s) =>
    `Drain of ${s.orderingEvents} events all on 1 aggregate vs spread over ${s.aggregates} aggregates. The relay is strictly ordered ` +
    'per aggregate (event n+1 is sent only after n is confirmed); there is no relaxed mode, so one hot aggregate is bounded by one confirm round trip per event.',
  async run(ctx) {
    const perDatabase = {};
    for (const kind of ctx.databases) {
      const runs = await repeat(ctx, `ordering ${kind}`, () =>
        withDrains(ctx, kind, async ({ relayDrain }) => {
          const one = await relayDrain(ctx.sizes.orderingEvents, 1);
          const many = await relayDrain(ctx.sizes.orderingEvents, ctx.sizes.aggregates);
          return {
            oneAggregateRate: one.rate,
            manyAggregatesRate: many.rate,
            ratio: many.rate / one.rate,
            cpuMs: one.cpuMs + many.cpuMs,
            peakRssMiB: Math.max(one.peakRssMiB, many.peakRssMiB),
          };
        }),
      );
      perDatabase[kind] = summarizeRuns(runs);
    }
    return { perDatabase };
  },
};

/** Deadline of one peer child process: its measurement's own budget plus start-up and slack. */
function peerDeadlineMs(ctx, seconds) {
  return Math.round(ctx.timeoutMs / 2 + seconds * 1000 + 15_000);
}

export const peer = {
  id: 'peer',
  title: 'Peer: pg-transactional-outbox (PostgreSQL)',
  describe: (s) =>
    `pg-transactional-outbox 0.5.7 with its polling listener (its logical-replication listener needs wal_level=logical; the shared server runs wal_level=replica, so the polling listener is the one that can run here), ` +
    `set up with its own DatabaseSetup SQL, messages stored with initializeMessageStorage in the business transaction, published by a handler ` +
    `with rabbitmq-client confirms. Settings from its README example (polling every 250 ms, segment = aggregate id for per-aggregate order) except ` +
    `batch size ${PEER_BATCH_SIZE} (its README's value; 128 collapses, see benchmarks/README.md). Every peer measurement runs in a child process ` +
    '(`lib/peer-child.mjs`) that is killed after a deadline; a killed or failed run is reported as a failure of that figure. ' +
    `Drain of ${s.peerEvents} events over ${s.aggregates} aggregates (outboxkit drains the same count in the same run), and the steady state of both systems at the SAME arrival rates, ` +
    `${s.steadyFractions.map((f) => `${f * 100}%`).join(', ')} of the PEER's measured drain rate (so the peer is not simply overloaded; outboxkit at its own rates is scenario 3), ` +
    `${s.peerSteadySeconds} s windows, same producer pool size, outboxkit with LISTEN on.`,
  async run(ctx) {
    if (!ctx.databases.includes('postgres')) return { skipped: 'postgres not selected' };
    const kind = 'postgres';
    const errors = [];
    const runs = await repeat(ctx, 'peer drain (outboxkit, then pg-transactional-outbox in a child process)', async () => {
      const ours = await relayDrainRun(ctx, kind, { count: ctx.sizes.peerEvents, aggregates: ctx.sizes.aggregates });
      let theirs = null;
      try {
        theirs = await withSetup(ctx, kind, (target, broker) =>
          runPeerChild(
            ctx,
            target,
            broker,
            { mode: 'drain', count: ctx.sizes.peerEvents, aggregates: ctx.sizes.aggregates, producerConnections: PRODUCER_CONNECTIONS },
            peerDeadlineMs(ctx, 0),
          ),
        );
      } catch (error) {
        errors.push(error.message);
        ctx.log(`   failed: ${error.message}`);
      }
      return {
        outboxkitRate: ours.rate,
        peerRate: theirs?.rate ?? NaN,
        ratio: theirs ? ours.rate / theirs.rate : NaN,
        outboxkitCpuMs: ours.cpuMs,
        peerCpuMs: theirs?.cpuMs ?? NaN,
        outboxkitPeakRssMiB: ours.peakRssMiB,
        peerPeakRssMiB: theirs?.peakRssMiB ?? NaN,
        peerShutdownHung: theirs?.shutdownHung ? 1 : 0,
      };
    });
    // Arrival rates from the peer's own drain rate; if every peer drain failed, a nominal 50/s.
    const peerDrainRate = summarize(runs.map((r) => r.peerRate)).median;
    const baseRate = Number.isFinite(peerDrainRate) ? peerDrainRate : 50;
    const seconds = ctx.sizes.peerSteadySeconds;
    const outboxkitSteady = await steadyCurves(
      ctx,
      kind,
      'peer steady: outboxkit',
      baseRate,
      (target, broker) => outboxkitSystem(ctx, target, broker, true),
      null,
      seconds,
    );
    const peerSteady = await steadyCurves(
      ctx,
      kind,
      'peer steady: pg-transactional-outbox',
      baseRate,
      null,
      (target, broker, params) =>
        runPeerChild(ctx, target, broker, { mode: 'steady', aggregates: ctx.sizes.aggregates, ...params }, peerDeadlineMs(ctx, params.seconds)),
      seconds,
    );
    const shutdownHung = runs.filter((r) => r.peerShutdownHung === 1).length;
    return {
      drain: { ...summarizeRuns(runs), errors, shutdownHung, batchSize: PEER_BATCH_SIZE },
      steady: {
        baseRate,
        baseRateFrom: Number.isFinite(peerDrainRate) ? 'peer drain rate' : 'nominal (peer drains failed)',
        outboxkit: outboxkitSteady,
        peer: peerSteady,
      },
    };
  },
};

export const SCENARIOS = [drain, naive, steady, history, producer, ordering, peer, brokers, tenants, cdc];
