// Small helpers shared by the scenarios: progress lines, statistics, resource sampling, payloads.
import { randomBytes } from 'node:crypto';
import { createEnvelope } from '@outboxkit/core';
import { machineCpu } from './machine-cpu.mjs';

/** One progress line per step, on stderr (stdout stays free for the report path). */
export function progress(message) {
  const time = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[bench ${time}] ${message}\n`);
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Median with its spread, over the values of several runs.
 * @param {number[]} values
 * @returns {{ median: number, min: number, max: number, runs: number[] }}
 */
export function summarize(values) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: NaN, min: NaN, max: NaN, runs: values };
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1], runs: values };
}

/**
 * Runs `fn` while sampling this process's CPU time and resident memory. The relay, the consumer
 * and (where a scenario has them) the producers all live in this one process, so the CPU figure
 * is theirs together; the database and broker servers are not included in it. `machine`: what
 * every process of the machine used meanwhile, by role (see machine-cpu.mjs; null off Linux).
 * @template T
 * @param {() => Promise<T>} fn
 * @returns {Promise<{ result: T, cpuMs: number, peakRssMiB: number, wallMs: number, machine: object | null }>}
 */
export async function withResources(fn) {
  let peak = process.memoryUsage.rss();
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage.rss());
  }, 50);
  // Before the CPU clock starts: its read of /proc is not this process's work.
  const machine = machineCpu();
  const cpu = process.cpuUsage();
  const started = performance.now();
  try {
    const result = await fn();
    const used = process.cpuUsage(cpu);
    const wallMs = performance.now() - started;
    peak = Math.max(peak, process.memoryUsage.rss());
    return { result, cpuMs: (used.user + used.system) / 1000, peakRssMiB: peak / 1024 / 1024, wallMs, machine: machine.stop(wallMs) };
  } finally {
    clearInterval(timer);
  }
}

/** A unique, lowercase name safe as a SQL identifier and an AMQP name. */
export function uniqueName(prefix) {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}

/** Producer connections for PostgreSQL and MariaDB by default (SQLite has one writer at a time anyway). */
export const PRODUCER_CONNECTIONS = 8;
/**
 * Upper bound for an open-loop producer pool: the shared PostgreSQL server allows 100
 * connections in all, and other clients use it too.
 */
export const MAX_PRODUCER_CONNECTIONS = 32;

const FILLER = 'x'.repeat(64);

/** A JSON payload of about 230 bytes, like an order event (the size the machine figures were measured with). */
export function orderPayload(i) {
  return {
    orderId: `o-${i}`,
    customerId: `c-${i % 9973}`,
    total: (i % 10_000) + 0.99,
    currency: 'EUR',
    items: [{ sku: `sku-${i % 1000}`, qty: 1 + (i % 5) }],
    note: FILLER,
  };
}

/** Event `i` of a workload spread over `aggregates` aggregates, round-robin. */
export function orderEvent(i, aggregates, prefix = 'o') {
  return { aggregateType: 'order', aggregateId: `${prefix}-${i % aggregates}`, type: 'order.placed', payload: orderPayload(i) };
}

/**
 * Event `i` as the relay would have claimed it (its own id, sequence within its aggregate), for
 * the raw-client baselines, which send exactly the message the publisher would.
 */
export function storedOrderEvent(i, aggregates) {
  return { ...createEnvelope(orderEvent(i, aggregates)), sequence: Math.floor(i / aggregates) + 1, position: i + 1, attempts: 0 };
}

/** Runs `count` calls of `task(i)` with at most `concurrency` in flight. */
export async function pooled(count, concurrency, task) {
  let next = 0;
  const worker = async () => {
    while (next < count) await task(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

/** Rejects after `ms` with `message`, unless `promise` settles first. */
export async function withTimeout(promise, ms, message) {
  let timer;
  try {
    return await Promise.race([
      promise,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
