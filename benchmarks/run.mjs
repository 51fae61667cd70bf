#!/usr/bin/env node
// Entry point of `pnpm bench`: runs the selected scenarios against the real servers and writes
// results/<date>-<host>.json plus a Markdown report (and its SVG charts) beside it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RELAY_DEFAULTS } from '@outboxkit/core';
import { parseArgs } from './lib/cli.mjs';
import { describeMachine } from './lib/machine.mjs';
import { progress } from './lib/util.mjs';
import { SCENARIOS } from './lib/scenarios/index.mjs';
import { renderReport } from './lib/report/markdown.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** Service URLs: the same variables the tests read, with the local defaults. */
export function serviceUrls(env = process.env) {
  return {
    postgres: env.OUTBOX_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test',
    mysql: env.OUTBOX_TEST_MYSQL_URL || 'mysql://root@127.0.0.1:3306/test',
    rabbitmq: env.OUTBOX_TEST_RABBITMQ_URL || 'amqp://guest:guest@127.0.0.1:5672',
    nats: env.OUTBOX_TEST_NATS_URL || 'nats://127.0.0.1:4222',
    redis: env.OUTBOX_TEST_REDIS_URL || 'redis://127.0.0.1:6379',
  };
}

/**
 * Runs the benchmark; returns the paths written.
 * @param {string[]} argv
 */
export async function main(argv) {
  const options = parseArgs(
    argv,
    SCENARIOS.map((s) => s.id),
  );
  const started = new Date();
  const urls = serviceUrls();
  const ctx = {
    urls,
    runs: options.runs,
    databases: options.databases,
    brokers: options.brokers,
    sizes: options.sizes,
    // The relay's defaults, stated in the report; scenarios override only what they must.
    relayOptions: { pollIntervalMs: RELAY_DEFAULTS.pollIntervalMs },
    timeoutMs: options.quick ? 60_000 : 300_000,
    drainRates: {},
    commitLatencyMs: {},
    log: progress,
  };
  progress(
    `outboxkit bench: ${options.quick ? 'quick' : 'full'}, scenarios ${options.only.join(',')}, databases ${options.databases.join(',')}, brokers ${options.brokers.join(',')}, ${options.runs} run(s)`,
  );
  const machine = await describeMachine(urls);
  const scenarios = {};
  for (const scenario of SCENARIOS.filter((s) => options.only.includes(s.id))) {
    progress(`== ${scenario.title}`);
    const t0 = performance.now();
    const entry = { title: scenario.title, description: scenario.describe(options.sizes) };
    try {
      entry.result = await scenario.run(ctx);
    } catch (error) {
      entry.error = error instanceof Error ? error.message : String(error);
      progress(`   failed: ${entry.error}`);
    }
    entry.seconds = (performance.now() - t0) / 1000;
    progress(`   done in ${entry.seconds.toFixed(1)} s`);
    scenarios[scenario.id] = entry;
  }
  const results = {
    startedAt: started.toISOString(),
    durationSeconds: (Date.now() - started.getTime()) / 1000,
    note: process.env.OUTBOX_BENCH_NOTE || undefined,
    machine,
    settings: {
      quick: options.quick,
      runs: options.runs,
      only: options.only,
      databases: options.databases,
      brokers: options.brokers,
      sizes: options.sizes,
      relay: {
        batchSize: RELAY_DEFAULTS.batchSize,
        maxInFlight: RELAY_DEFAULTS.maxInFlight,
        pollIntervalMs: RELAY_DEFAULTS.pollIntervalMs,
        keepHistory: RELAY_DEFAULTS.keepHistory,
      },
    },
    scenarios,
  };
  const outDir = resolve(options.out ?? join(here, 'results'));
  mkdirSync(outDir, { recursive: true });
  const base = `${started.toISOString().slice(0, 19).replace(/:/g, '-')}-${hostname().replace(/[^A-Za-z0-9.-]/g, '_')}`;
  const jsonPath = join(outDir, `${base}.json`);
  const mdPath = join(outDir, `${base}.md`);
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  const { markdown, charts } = renderReport(results, base);
  for (const { file, svg } of charts) writeFileSync(join(outDir, file), svg);
  writeFileSync(mdPath, markdown);
  progress(`wrote ${jsonPath}`);
  progress(`wrote ${mdPath}`);
  process.stdout.write(`${mdPath}\n`);
  const failed = Object.values(scenarios).filter((s) => s.error).length;
  return { jsonPath, mdPath, charts: charts.map((c) => join(outDir, c.file)), failed };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  // Node ends on SIGINT/SIGTERM without running 'exit' handlers, and testkit's exit guard (which
  // stops the private servers some scenarios start) is one: exiting here lets it run.
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ]) {
    process.once(signal, () => {
      process.stderr.write(`outboxkit bench: ${signal}, stopping the private servers it started; no report written\n`);
      process.exit(code);
    });
  }
  main(process.argv.slice(2)).then(
    ({ failed }) => process.exit(failed > 0 ? 1 : 0),
    (error) => {
      process.stderr.write(`${error.usage ? error.message : (error.stack ?? error)}\n`);
      process.exit(error.usage ? 0 : 2);
    },
  );
}
