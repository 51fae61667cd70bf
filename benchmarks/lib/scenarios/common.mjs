// Building blocks the scenarios share: a relay wired to a target and a broker, a measured drain,
// the open-loop producer, and per-run bookkeeping.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Relay } from '@outboxkit/core';
import { openBroker, publishRaw } from '../brokers/index.mjs';
import { latencyRecorder } from '../latency.mjs';
import { cpuPerEvent, MACHINE_FIGURES } from '../machine-cpu.mjs';
import { withResources, summarize, sleep, orderEvent, storedOrderEvent, PRODUCER_CONNECTIONS, MAX_PRODUCER_CONNECTIONS } from '../util.mjs';

/**
 * Opens a target and a broker destination (RabbitMQ unless `broker` names another), runs `fn`,
 * and always cleans both up.
 */
export async function withSetup(ctx, kind, fn, { broker: brokerKind = 'rabbitmq', ...targetOptions } = {}) {
  // Loaded on first use: the peer's child process needs this module but never opens a target.
  const { openTarget } = await import('../targets.mjs');
  const target = await openTarget(kind, ctx.urls, targetOptions);
  let broker;
  try {
    broker = await openBroker(brokerKind, ctx.urls);
    return await fn(target, broker);
  } finally {
    await broker?.close().catch(() => {});
    await target.close().catch((error) => ctx.log(`cleanup of ${kind} failed: ${error.message}`));
  }
}

export function relayFor(ctx, target, publisher, options = {}) {
  return new Relay({ dialect: target.dialect, database: target.db, publisher, ...ctx.relayOptions, ...options });
}

/**
 * Drains what is pending with `relay.drain()` and waits until the consumer has every event.
 * @returns {Promise<{ rate: number, cpuMs: number, peakRssMiB: number, seconds: number, machine: object | null }>}
 */
export async function measuredDrain(ctx, counter, count, drain) {
  counter.reset();
  const { cpuMs, peakRssMiB, wallMs, machine } = await withResources(async () => {
    await drain();
    await counter.waitFor(count, ctx.timeoutMs);
  });
  return { rate: count / (wallMs / 1000), cpuMs, peakRssMiB, seconds: wallMs / 1000, machine };
}

/**
 * Starts one of the benchmark's publishing child processes (the drains' relay and raw publisher,
 * cdc's sources) with its job as its only argument and an IPC channel. Two variables change how
 * it runs: OUTBOX_BENCH_CHILD_NODE_ARGS, node options such as "--cpu-prof --cpu-prof-dir=/tmp/prof"
 * to profile it; OUTBOX_BENCH_CHILD_EXEC, a wrapper that runs node under a tool (instructions.mjs
 * sets one that runs it under callgrind).
 */
export function forkChild(script, job) {
  return fork(script, [JSON.stringify(job)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: (process.env.OUTBOX_BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter(Boolean),
    execPath: process.env.OUTBOX_BENCH_CHILD_EXEC || process.execPath,
  });
}

const RELAY_CHILD = fileURLToPath(new URL('../relay-child.mjs', import.meta.url));

/**
 * One drain in a process of its own (lib/relay-child.mjs: the relay, or with `mode: 'raw'` the
 * broker's own client), measured until the consumer here has every event. `cpuMs` is the child's
 * CPU from its start signal on (its set-up excluded), `consumerCpuMs` this process's meanwhile.
 */
async function childDrain(ctx, counter, count, job) {
  const child = forkChild(RELAY_CHILD, job);
  const messages = [];
  let wake = null;
  child.on('message', (message) => {
    messages.push(message);
    wake?.();
  });
  const next = async () => {
    while (messages.length === 0) {
      await new Promise((resolve, reject) => {
        wake = resolve;
        child.once('exit', (code) => reject(new Error(`relay child exited with ${code} before answering`)));
      });
    }
    const message = messages.shift();
    if (message.error) throw new Error(`relay child: ${message.error}`);
    return message;
  };
  try {
    await next();
    counter.reset();
    const {
      result: figures,
      cpuMs: consumerCpuMs,
      wallMs,
      machine,
    } = await withResources(async () => {
      child.send('go');
      const [done] = await Promise.all([next(), counter.waitFor(count, ctx.timeoutMs)]);
      return done;
    });
    return {
      rate: count / (wallMs / 1000),
      cpuMs: figures.cpuMs,
      cpuUsPerEvent: (figures.cpuMs * 1000) / count,
      consumerCpuMs,
      peakRssMiB: figures.peakRssMiB,
      seconds: wallMs / 1000,
      machine,
    };
  } finally {
    // It exits by itself after answering (writing its profile, if asked); killed only if it does not.
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      const timer = setTimeout(() => child.kill(), 10_000);
      await exited;
      clearTimeout(timer);
    }
  }
}

/**
 * The outboxkit relay draining `count` pre-written events over `aggregates` aggregates, on a fresh
 * target and broker destination. With `raw`, the same number of the same messages is also sent
 * with the broker's own client on the same destination (`rawRate`), after the relay's drain or,
 * with `rawFirst`, before it, so repeated runs can alternate the order.
 */
export async function relayDrainRun(
  ctx,
  kind,
  { count, aggregates, relayOptions = {}, raw = false, rawFirst = false, beforeDrain, broker: brokerKind, ownProcess = false },
) {
  return withSetup(
    ctx,
    kind,
    async (target, broker) => {
      await beforeDrain?.(target);
      await target.prewrite(count, aggregates);
      const counter = await broker.consume();
      const publisher = broker.publisher();
      try {
        const relay = relayFor(ctx, target, publisher, { wakeSources: [], ...relayOptions });
        const job = (mode) => ({
          mode,
          count,
          aggregates,
          database: target.childConfig(),
          broker: broker.childConfig(),
          relayOptions: { ...ctx.relayOptions, ...relayOptions },
        });
        const relayDrain = ownProcess ? () => childDrain(ctx, counter, count, job('relay')) : () => measuredDrain(ctx, counter, count, () => relay.drain());
        const rawDrain = ownProcess
          ? () => childDrain(ctx, counter, count, job('raw'))
          : async () => {
              const events = Array.from({ length: count }, (_, i) => storedOrderEvent(i, aggregates));
              return measuredDrain(ctx, counter, count, () => publishRaw(broker, events));
            };
        if (!raw) {
          const result = await relayDrain();
          return { ...result, ...cpuPerEvent(result.machine, count) };
        }
        const baseline = rawFirst ? await rawDrain() : undefined;
        const result = await relayDrain();
        const rawResult = baseline ?? (await rawDrain());
        const own = ownProcess
          ? {
              rawCpuUsPerEvent: rawResult.cpuUsPerEvent,
              rawConsumerCpuMs: rawResult.consumerCpuMs,
              ...cpuPerEvent(rawResult.machine, count, 'raw'),
            }
          : {};
        return { ...result, ...cpuPerEvent(result.machine, count), rawRate: rawResult.rate, rawCpuMs: rawResult.cpuMs, ...own };
      } finally {
        await publisher.close();
      }
    },
    { broker: brokerKind },
  );
}

/**
 * One target + queue for several drains in a row (one setup instead of one per drain): `fn`
 * gets `relayDrain(count, aggregates, relayOptions)` and `drainWith(count, aggregates, drain)`,
 * each writing `count` pending events first and measuring until all are consumed.
 */
export async function withDrains(ctx, kind, fn) {
  return withSetup(ctx, kind, async (target, broker) => {
    const counter = await broker.consume();
    const publisher = broker.publisher();
    const drainWith = async (count, aggregates, drain) => {
      await target.prewrite(count, aggregates);
      return measuredDrain(ctx, counter, count, () => drain({ target, publisher }));
    };
    const relayDrain = (count, aggregates, relayOptions = {}) =>
      drainWith(count, aggregates, () => relayFor(ctx, target, publisher, { wakeSources: [], ...relayOptions }).drain());
    try {
      return await fn({ relayDrain, drainWith });
    } finally {
      await publisher.close();
    }
  });
}

/** Turns a list of per-run objects into `{ key: summary }` for the numeric keys. */
export function summarizeRuns(runs) {
  const keys = Object.keys(runs[0] ?? {}).filter((key) => typeof runs[0][key] === 'number');
  return Object.fromEntries(keys.map((key) => [key, summarize(runs.map((run) => run[key]))]));
}

/** Runs `fn(run)` `ctx.runs` times, logging each run. */
export async function repeat(ctx, label, fn) {
  const results = [];
  for (let run = 1; run <= ctx.runs; run++) {
    ctx.log(`${label}: run ${run}/${ctx.runs}`);
    results.push(await fn(run));
  }
  return results;
}

/**
 * Open loop: transaction i is started at `start + i / rate`, by the clock, whether or not the
 * earlier ones have finished, so a slow system shows up as latency instead of a lower rate.
 * Returns the latency summary, the achieved commit rate, and how late the producers started.
 * @param {{ start(): Promise<void>, stop(): Promise<void>, write(i: number): Promise<string> }} system
 */
export async function openLoop(ctx, broker, system, { rate, seconds }) {
  const latency = latencyRecorder();
  const counter = await broker.consume((id, at) => latency.delivered(id, at));
  const count = Math.max(1, Math.round(rate * seconds));
  let committedCount = 0;
  let maxLagMs = 0;
  let failures = 0;
  let achieved = NaN;
  let startedAt = 0;
  let lastStart = 0;
  await system.start();
  try {
    const { cpuMs, peakRssMiB, machine } = await withResources(async () => {
      const inFlight = new Set();
      const start = performance.now();
      startedAt = start;
      let lastCommit = start;
      for (let i = 0; i < count; i++) {
        const due = start + (i * 1000) / rate;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait);
        lastStart = performance.now();
        maxLagMs = Math.max(maxLagMs, lastStart - due);
        const tx = system.write(i).then(
          (id) => {
            const at = performance.now();
            lastCommit = at;
            committedCount++;
            latency.committed(id, at);
          },
          () => {
            failures++;
          },
        );
        inFlight.add(tx);
        tx.finally(() => inFlight.delete(tx));
      }
      await Promise.all(inFlight);
      // Commits over the scheduled span plus one interval (n events span (n-1)/rate seconds).
      achieved = committedCount / ((lastCommit - start) / 1000 + 1 / rate);
      await counter.waitFor(committedCount, ctx.timeoutMs);
    });
    const summary = latency.summary();
    return {
      ...summary,
      targetRate: rate,
      offeredRate: count > 1 && lastStart > startedAt ? (count - 1) / ((lastStart - startedAt) / 1000) : rate,
      achievedRate: achieved,
      events: committedCount,
      failures,
      maxProducerLagMs: maxLagMs,
      cpuMs,
      peakRssMiB,
      ...cpuPerEvent(machine, committedCount),
    };
  } finally {
    await system.stop();
    await counter.close();
  }
}

/**
 * Mean commit latency (ms) of the business transaction with the outbox write (and NOTIFY on
 * PostgreSQL, the heavier variant) for `kind`, measured once per run: a closed loop of
 * PRODUCER_CONNECTIONS producers for `ctx.sizes.calibrationSeconds`, latency = concurrency /
 * throughput (Little's law). Used to size the open-loop producer pool.
 */
export async function commitLatencyFor(ctx, kind) {
  if (kind === 'sqlite') return 0;
  if (ctx.commitLatencyMs[kind] === undefined) {
    ctx.commitLatencyMs[kind] = await withSetup(ctx, kind, async (target) => {
      let commits = 0;
      let i = 0;
      const started = performance.now();
      const until = started + ctx.sizes.calibrationSeconds * 1000;
      await Promise.all(
        Array.from({ length: PRODUCER_CONNECTIONS }, async () => {
          while (performance.now() < until) {
            const n = i++;
            await target.businessTx(n, { outbox: true, notify: true, event: orderEvent(n, ctx.sizes.aggregates) });
            commits++;
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      return (PRODUCER_CONNECTIONS * seconds * 1000) / Math.max(1, commits);
    });
    ctx.log(`${kind}: commit latency with ${PRODUCER_CONNECTIONS} producers ${ctx.commitLatencyMs[kind].toFixed(1)} ms (sizes the open-loop producer pools)`);
  }
  return ctx.commitLatencyMs[kind];
}

/**
 * Producer connections for an open loop at `rate`/s: rate x expected commit latency (the
 * connections busy at once, Little's law) with 2x headroom, at least PRODUCER_CONNECTIONS and at
 * most MAX_PRODUCER_CONNECTIONS. SQLite has a single writer.
 */
export function producerPoolSize(kind, rate, commitLatencyMs) {
  if (kind === 'sqlite') return 1;
  const busy = (rate * commitLatencyMs) / 1000;
  return Math.min(MAX_PRODUCER_CONNECTIONS, Math.max(PRODUCER_CONNECTIONS, Math.ceil(busy * 2)));
}

/** One steady-state figure: the runs at one target rate, summarized. */
export function steadyPoint(fraction, rate, runs, producerConnections, errors = []) {
  // The curve drawn is the run with the median p99.
  const byP99 = [...runs].sort((a, b) => a.percentiles.p99 - b.percentiles.p99);
  const medianRun = byP99[Math.floor(byP99.length / 2)];
  return {
    fraction,
    targetRate: rate,
    producerConnections,
    offeredRate: summarize(runs.map((r) => r.offeredRate)),
    achievedRate: summarize(runs.map((r) => r.achievedRate)),
    achievedShare: summarize(runs.map((r) => r.achievedRate / rate)),
    events: summarize(runs.map((r) => r.events)),
    percentiles: Object.fromEntries(Object.keys(runs[0].percentiles).map((p) => [p, summarize(runs.map((r) => r.percentiles[p]))])),
    maxMs: summarize(runs.map((r) => r.maxMs)),
    maxProducerLagMs: summarize(runs.map((r) => r.maxProducerLagMs)),
    failures: runs.reduce((n, r) => n + r.failures, 0),
    cpuMs: summarize(runs.map((r) => r.cpuMs)),
    peakRssMiB: summarize(runs.map((r) => r.peakRssMiB)),
    // Where the machine's CPU went, per committed event (absent off Linux).
    ...Object.fromEntries(
      MACHINE_FIGURES.filter((key) => runs.every((r) => typeof r[key] === 'number')).map((key) => [key, summarize(runs.map((r) => r[key]))]),
    ),
    curve: medianRun.curve,
    errors,
  };
}

/** The outboxkit relay as an open-loop system: producers commit business transactions with the event, the relay publishes. */
export function outboxkitSystem(ctx, target, broker, wake, aggregates = ctx.sizes.aggregates) {
  const publisher = broker.publisher();
  const relay = relayFor(ctx, target, publisher, { wakeSources: target.wakeSources(wake) });
  return {
    start: () => relay.start(),
    async stop() {
      await relay.stop();
      await publisher.close();
    },
    write: (i) => target.businessTx(i, { outbox: true, notify: wake, wake, event: orderEvent(i, aggregates) }),
  };
}

/**
 * The broker's own client as an open-loop system: each event is sent as soon as it is due (with
 * `commit`, as soon as `commit(i)` resolved: the producer's own transaction, then the publish, the
 * dual write), and counts as "committed" when it is handed to the client, so its latency is
 * send -> consumer.
 */
export function rawSystem(broker, aggregates, commit = null) {
  let client;
  const sends = new Set();
  const send = (event) => {
    const sending = client.send(event);
    sends.add(sending);
    // A failed send never reaches the consumer: the wait for it fails the figure, naming the count.
    sending.then(
      () => sends.delete(sending),
      () => sends.delete(sending),
    );
    return event.id;
  };
  return {
    async start() {
      client = await broker.rawClient();
    },
    async stop() {
      await Promise.all(sends);
      await client.close();
    },
    write(i) {
      const event = storedOrderEvent(i, aggregates);
      return commit === null ? Promise.resolve(send(event)) : commit(i).then(() => send(event));
    },
  };
}
