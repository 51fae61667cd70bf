#!/usr/bin/env node
// CPU per event as a count of instructions, which a shared, noisy machine does not blur: the
// drain scenario's relay and raw-publisher child processes run under valgrind's callgrind, at two
// sizes, and the difference of their totals divided by the difference of the sizes is the
// instructions each spends per event (start-up and module loading cancel out). Repeatable to a
// few percent where seconds per event move by tens; the raw publisher is the control: a change to
// the relay alone should leave it where it was.
//   node benchmarks/instructions.mjs                          (SQLite, 2,000 and 8,000 events)
//   node benchmarks/instructions.mjs --databases postgres,sqlite --events 2000,8000
// Slow (node under callgrind runs ~40x slower): about 5 minutes per database at the defaults.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DATABASES } from './lib/cli.mjs';

const RUN = fileURLToPath(new URL('./run.mjs', import.meta.url));

function options(argv) {
  const { values } = parseArgs({ args: argv, options: { databases: { type: 'string', default: 'sqlite' }, events: { type: 'string', default: '2000,8000' } } });
  const databases = values.databases.split(',');
  const unknown = databases.filter((name) => !DATABASES.includes(name));
  if (unknown.length > 0) throw new Error(`--databases: unknown ${unknown.join(', ')}; use ${DATABASES.join(', ')}`);
  const sizes = values.events.split(',').map(Number);
  if (sizes.length !== 2 || !sizes.every(Number.isSafeInteger) || !(sizes[0] > 0 && sizes[1] > sizes[0])) {
    throw new Error(`--events: expected two sizes, the smaller first (e.g. 2000,8000), got ${values.events}`);
  }
  return { databases, sizes };
}

/** The callgrind totals of every drain child of one run, by database and mode (relay, raw). */
function totalsOf(dir) {
  const totals = {};
  for (const file of readdirSync(dir).filter((name) => name.startsWith('cg.'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    // The child's command line holds its job: {"mode":"relay",...,"database":{"kind":"sqlite",...}}.
    const job = JSON.parse(/^cmd: .*? (\{.*\})$/m.exec(text)?.[1] ?? 'null');
    const total = Number(/^totals: (\d+)/m.exec(text)?.[1]);
    if (job === null || !Number.isFinite(total)) throw new Error(`callgrind output ${file} has no job or totals line`);
    totals[`${job.database.kind} ${job.mode}`] = total;
  }
  return totals;
}

/** One drain run (1 run, relay first) with both children under callgrind; their totals. */
async function measuredRun(databases, events) {
  const dir = mkdtempSync(join(tmpdir(), 'okt-callgrind-'));
  try {
    const wrapper = join(dir, 'node-under-callgrind');
    writeFileSync(wrapper, `#!/bin/sh\nexec valgrind --tool=callgrind -q --callgrind-out-file=${dir}/cg.%p '${process.execPath}' "$@"\n`);
    chmodSync(wrapper, 0o755);
    const args = [RUN, '--only', 'drain', '--databases', databases.join(','), '--events', String(events), '--runs', '1', '--out', join(dir, 'report')];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, OUTBOX_BENCH_CHILD_EXEC: wrapper } });
    const code = await new Promise((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`node benchmarks/run.mjs --only drain --events ${events} exited with ${code}`);
    return totalsOf(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main() {
  const { databases, sizes } = options(process.argv.slice(2));
  if (spawnSync('valgrind', ['--version']).status !== 0) throw new Error('valgrind is not installed: apt-get install valgrind');
  const [small, large] = [await measuredRun(databases, sizes[0]), await measuredRun(databases, sizes[1])];
  const perEvent = (key) => (large[key] - small[key]) / (sizes[1] - sizes[0]);
  console.log(`instructions per event (callgrind, drain ${sizes[0]} vs ${sizes[1]} events, RabbitMQ)`);
  console.log('| database | relay | raw publisher | relay / raw |');
  console.log('|---|---|---|---|');
  for (const kind of databases) {
    const relay = perEvent(`${kind} relay`);
    const raw = perEvent(`${kind} raw`);
    console.log(`| ${kind} | ${Math.round(relay).toLocaleString('en-US')} | ${Math.round(raw).toLocaleString('en-US')} | ${(relay / raw).toFixed(2)} |`);
  }
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
