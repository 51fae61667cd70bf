// Shared machinery of the fault-injection scenarios: writers that log every attempt, relay
// processes with metrics, a durable collector, drain + check, and the results table.
import { appendFileSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { expect } from 'vitest';
import { writeEvents, type EventInput } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import {
  allCommittedDelivered,
  collectQueue,
  type DeliveryLog,
  describeFailure,
  uniqueName,
  type DeliveryReport,
  type MessageCollector,
  type QueueCollector,
} from '@outboxkit/testkit';
import { startRelay, type RelayProcess } from '../support/relay-process.js';

// ---------------------------------------------------------------- results table

export interface ScenarioRow {
  scenario: string;
  attempted: number;
  committed: number;
  delivered: number;
  lost: number;
  unexpected: number;
  duplicated: number;
  /** 'n/a' where the deliveries carry no arrival order (scenario 10 judges effect rows). */
  orderViolations: number | 'n/a';
  drainMs: number;
  note?: string;
}

const rows: ScenarioRow[] = [];
const COLUMNS = ['scenario', 'attempted', 'committed', 'delivered', 'lost', 'unexpected', 'duplicated', 'order viol.', 'drain s', 'note'] as const;

/** Records a row: kept for this file's table and, under `pnpm test:faults`, appended to the run's table file. */
export function recordRow(row: ScenarioRow): void {
  rows.push(row);
  console.log(formatTable([row]));
  const file = process.env.OUTBOX_FAULTS_TABLE;
  if (file) appendFileSync(file, `${JSON.stringify(row)}\n`);
}

export function fileRows(): readonly ScenarioRow[] {
  return rows;
}

export function formatTable(list: readonly ScenarioRow[]): string {
  const cells = list.map((r) =>
    [r.scenario, r.attempted, r.committed, r.delivered, r.lost, r.unexpected, r.duplicated, r.orderViolations, (r.drainMs / 1000).toFixed(1), r.note ?? ''].map(
      String,
    ),
  );
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]): string =>
    `| ${values.map((v, i) => (i === 0 || i === values.length - 1 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join(' | ')} |`;
  return [line(COLUMNS), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}

export function readTableFile(file: string): ScenarioRow[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as ScenarioRow);
  } catch {
    return [];
  }
}

/**
 * The checks every scenario makes: lost = 0, unexpected = 0, no order violations among first
 * deliveries, no mismatches; duplicates reported. The failure message names the events.
 */
export function checkAndRecord(
  scenario: string,
  log: DeliveryLog,
  drainMs: number,
  note?: string,
  report: DeliveryReport = log.check(),
  options: { orderJudged?: boolean } = {},
): DeliveryReport {
  recordRow({
    scenario,
    attempted: report.attempted,
    committed: report.committed,
    delivered: report.delivered,
    lost: report.lost.length,
    unexpected: report.unexpected.length,
    duplicated: report.duplicateDeliveries,
    orderViolations: options.orderJudged === false ? 'n/a' : report.orderViolations.length,
    drainMs,
    ...(note ? { note } : {}),
  });
  if (options.orderJudged === false)
    report = { ...report, orderViolations: [], ok: report.lost.length === 0 && report.unexpected.length === 0 && report.mismatches.length === 0 };
  expect(report.ok, `${scenario}: ${describeFailure(report, 10)}`).toBe(true);
  if (options.orderJudged !== false) expect(report.withoutSequence, `${scenario}: every first delivery must carry a sequence so order is judged`).toBe(0);
  return report;
}

// ---------------------------------------------------------------- writers

export interface WriterOptions {
  target: DatabaseTarget;
  log: DeliveryLog;
  /** Events to attempt in total. */
  total: number;
  aggregates: number;
  concurrency?: number;
  aggregateType?: string;
  /** Fraction of transactions that roll back (their event logged as rolled back). */
  rollbackRate?: number;
  /** Fraction of transactions that write an event after a savepoint, roll back to it, then write another event and commit. */
  savepointRate?: number;
  /** Stop early when this turns true. */
  stop?: () => boolean;
  /** Wait this long between a writer's transactions (ms). */
  paceMs?: number;
  /** Retry database errors (the database is being restarted): the outcome is logged as unknown. */
  tolerateErrors?: boolean;
  /** Extra payload fields. */
  payload?: (n: number) => Record<string, unknown>;
}

export interface WriterStats {
  attempted: number;
  committed: number;
  rolledBack: number;
  unknown: number;
  savepoints: number;
  errors: number;
}

class Rollback extends Error {}

/** Deterministic per-run pseudo-random numbers (seed printed by the scenario). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}

/**
 * Concurrent writers, each transaction one event (or two around a savepoint); every attempt is
 * logged with its outcome. A database error at any point is logged `unknown` (the commit may have
 * happened) and, with `tolerateErrors`, the writer goes on after a short wait.
 */
export async function runWriters(options: WriterOptions, seed = 1): Promise<WriterStats> {
  const { target, log, total, aggregates } = options;
  const stats: WriterStats = { attempted: 0, committed: 0, rolledBack: 0, unknown: 0, savepoints: 0, errors: 0 };
  const random = rng(seed);
  const aggregateType = options.aggregateType ?? 'account';
  let next = 0;
  const savepointSql = target.dialect.name === 'sqlite' ? 'SAVEPOINT okt_sp' : 'SAVEPOINT okt_sp';
  const writer = async (): Promise<void> => {
    for (;;) {
      if (options.stop?.()) return;
      const n = next++;
      if (n >= total) return;
      const aggregateId = `a-${n % aggregates}`;
      const input = (extra: Record<string, unknown> = {}): EventInput => ({
        aggregateType,
        aggregateId,
        type: 'account.credited',
        payload: { n, ...extra, ...(options.payload?.(n) ?? {}) },
      });
      const roll = random();
      const rollback = roll < (options.rollbackRate ?? 0);
      const savepoint = !rollback && random() < (options.savepointRate ?? 0);
      const pending: { id: string; aggregateType: string; aggregateId: string; sequence?: number; rolledBackToSavepoint?: boolean }[] = [];
      try {
        await target.database.transaction(async (tx) => {
          if (savepoint) {
            await tx.query(savepointSql);
            const [undone] = await writeEvents(target.dialect, tx, input({ undone: true }));
            pending.push({ ...undone!, rolledBackToSavepoint: true });
            await tx.query('ROLLBACK TO SAVEPOINT okt_sp');
            stats.savepoints++;
          }
          const [written] = await writeEvents(target.dialect, tx, input());
          pending.push({ id: written!.id, aggregateType, aggregateId, sequence: written!.sequence });
          if (rollback) throw new Rollback('deliberate rollback');
        });
        for (const event of pending) {
          stats.attempted++;
          if (event.rolledBackToSavepoint) {
            log.attempted({ id: event.id, aggregateType, aggregateId }, 'rolled-back');
            stats.rolledBack++;
          } else {
            log.attempted(event, 'committed');
            stats.committed++;
          }
        }
      } catch (error) {
        for (const event of pending) {
          stats.attempted++;
          if (error instanceof Rollback || event.rolledBackToSavepoint) {
            log.attempted({ id: event.id, aggregateType, aggregateId }, 'rolled-back');
            stats.rolledBack++;
          } else {
            log.attempted({ id: event.id, aggregateType, aggregateId }, 'unknown');
            stats.unknown++;
          }
        }
        if (!(error instanceof Rollback)) {
          stats.errors++;
          if (!options.tolerateErrors) throw error;
          await sleep(100);
        }
      }
      if (options.paceMs) await sleep(options.paceMs);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 8 }, writer));
  return stats;
}

// ---------------------------------------------------------------- processes, broker, database

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface RelaySpec {
  databaseUrl: string;
  schema: string | undefined;
  brokerUrl: string;
  /** RabbitMQ's exchange; other brokers take their own flags in `extra`. */
  exchange?: string;
  relayId: string;
  extra?: readonly string[];
  env?: NodeJS.ProcessEnv;
}

export interface ManagedRelay extends RelayProcess {
  readonly id: string;
  /** Resolves with the metrics port it logged. */
  metricsPort(): Promise<number>;
}

const liveRelays = new Set<import('node:child_process').ChildProcess>();
let exitHookInstalled = false;

/** A scenario cut short (test timeout, crash) must not leave relay processes running after the worker exits. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of liveRelays) {
      try {
        child.kill('SIGCONT');
        child.kill('SIGKILL');
      } catch {
        // gone
      }
    }
  });
}

/** An `outbox-relay run` child with metrics on a free loopback port; info-level JSON logs kept in output(). */
export function spawnRelay(spec: RelaySpec): ManagedRelay {
  const relay = startRelay(
    [
      '--database-url',
      spec.databaseUrl,
      ...(spec.schema ? ['--schema', spec.schema] : []),
      '--broker-url',
      spec.brokerUrl,
      ...(spec.exchange ? ['--exchange', spec.exchange] : []),
      '--relay-id',
      spec.relayId,
      '--poll-interval-ms',
      '200',
      '--metrics-port',
      '0',
      '--metrics-host',
      '127.0.0.1',
      '--status-interval-ms',
      '500',
      '--log-level',
      'info',
      ...(spec.extra ?? []),
    ],
    spec.env,
  );
  liveRelays.add(relay.child);
  relay.child.once('exit', () => liveRelays.delete(relay.child));
  installExitHook();
  return {
    ...relay,
    id: spec.relayId,
    metricsPort: () =>
      waitUntil(
        'relay metrics port',
        async () => {
          const match = /"port":(\d+),"paths":\["\/metrics"/.exec(relay.output());
          if (relay.child.exitCode !== null) throw new Error(`relay ${spec.relayId} exited ${relay.child.exitCode}: ${relay.output().slice(-2000)}`);
          return match ? Number(match[1]) : undefined;
        },
        30_000,
      ),
  };
}

export type Samples = Map<string, number>;

export async function scrape(port: number): Promise<Samples> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

export function metric(samples: Samples, key: string): number {
  const value = samples.get(key);
  if (value === undefined) throw new Error(`metric ${key} is missing from /metrics`);
  return value;
}

/** Polls `probe` until it returns something truthy; rejects naming `what` after `timeoutMs`. */
export async function waitUntil<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
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
    await sleep(200);
  }
}

/** A durable queue bound to everything on `exchange` (declared topic), recording into `log`. */
export async function durableCollector(brokerUrl: string, exchange: string, log: DeliveryLog): Promise<QueueCollector> {
  return collectQueue({ url: brokerUrl, queue: uniqueName('okt_fq'), declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true }, log });
}

/** Waits until every committed event arrived; returns how long that took. */
export async function drain(collector: Pick<QueueCollector, 'waitFor'> | MessageCollector, timeoutMs: number): Promise<number> {
  const started = Date.now();
  await collector.waitFor(allCommittedDelivered, timeoutMs);
  // A short quiet period so late duplicates of the last batch are counted too.
  await sleep(1000);
  return Date.now() - started;
}

/** Opens a pool on the outbox tables (PostgreSQL schema / MySQL database) and migrates them. */
export async function openTarget(url: string, schema: string | undefined): Promise<DatabaseTarget> {
  const target = await openDatabase(url, { tables: schema ? { schema } : {} });
  await target.dialect.migrate(target.database);
  return target;
}

/** Resident memory of a process in MiB (Linux /proc), or undefined once it is gone. */
export async function rssMiB(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Stops every relay hard; for finally blocks. */
export async function killAll(relays: readonly RelayProcess[]): Promise<void> {
  await Promise.all(
    relays.map((relay) => {
      try {
        relay.child.kill('SIGCONT');
      } catch {
        // gone
      }
      return relay.stop('SIGKILL');
    }),
  );
}
