import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// The harness end to end on a tiny workload: one scenario, one database, a few hundred events.
// Only the shape of what it writes is checked, never a timing. The brokers case starts its own
// fauxqs (an SQS emulator), as the scenario does for every cloud broker.
describe('benchmark harness', () => {
  const out = mkdtempSync(join(tmpdir(), 'outboxkit-bench-smoke-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('runs the drain scenario on SQLite and writes well-formed JSON and Markdown reports', async () => {
    const { main } = await import('../run.mjs');
    const written = await main(['--quick', '--only', 'drain', '--databases', 'sqlite', '--runs', '1', '--events', '300', '--out', out]);
    expect(written.failed).toBe(0);

    const results = JSON.parse(readFileSync(written.jsonPath, 'utf8'));
    expect(results.machine.cores).toBeGreaterThan(0);
    expect(results.settings.sizes.drainEvents).toBe(300);
    const drain = results.scenarios.drain.result.perDatabase.sqlite;
    for (const key of ['rate', 'rawRate', 'ratio', 'cpuMs', 'cpuUsPerEvent', 'rawCpuUsPerEvent', 'peakRssMiB']) {
      expect(drain[key].runs).toHaveLength(1);
      expect(drain[key].median).toBeGreaterThan(0);
      expect(drain[key].min).toBeLessThanOrEqual(drain[key].max);
    }

    if (process.platform === 'linux') {
      // Where the machine's CPU went: the publishing child and the consumer are the benchmark's.
      for (const key of ['machineUsPerEvent', 'benchmarkUsPerEvent', 'rawMachineUsPerEvent', 'rawBenchmarkUsPerEvent', 'cpuBoundRatio']) {
        expect(drain[key].median).toBeGreaterThan(0);
      }
      expect(drain.benchmarkUsPerEvent.median).toBeLessThanOrEqual(drain.machineUsPerEvent.median);
    }

    const markdown = readFileSync(written.mdPath, 'utf8');
    if (process.platform === 'linux') expect(markdown).toMatch(/Where the CPU went[\s\S]*\| SQLite \| 300 \| relay \|/);
    expect(markdown).toMatch(/^# outboxkit benchmark report/);
    expect(markdown).toContain('## Machine and versions');
    expect(markdown).toMatch(/\| SQLite \| 300 \| [\d,.]+ \(/);
    const charts = readdirSync(out).filter((file) => file.endsWith('.svg'));
    expect(charts.length).toBeGreaterThan(0);
    for (const chart of charts) {
      const svg = readFileSync(join(out, chart), 'utf8');
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      expect(svg.trim().endsWith('</svg>')).toBe(true);
      expect(markdown).toContain(`](${chart})`);
    }
  });

  it('runs the brokers scenario on SQS (on its own fauxqs) and says in the report that the figures come from an emulator', async () => {
    const { main } = await import('../run.mjs');
    const written = await main(['--quick', '--only', 'brokers', '--brokers', 'sqs', '--runs', '1', '--events', '300', '--out', join(out, 'sqs')]);
    expect(written.failed).toBe(0);

    const result = JSON.parse(readFileSync(written.jsonPath, 'utf8')).scenarios.brokers.result;
    expect(result.emulators).toEqual({ sqs: 'fauxqs' });
    const { drain, steady } = result.perBroker.sqs;
    for (const key of ['rate', 'rawRate', 'ratio']) {
      expect(drain[key].runs).toHaveLength(1);
      expect(drain[key].median).toBeGreaterThan(0);
    }
    expect(steady).toHaveLength(1);
    expect(steady[0].relay.events.median).toBeGreaterThan(0);
    expect(steady[0].raw.events.median).toBeGreaterThan(0);

    const markdown = readFileSync(written.mdPath, 'utf8');
    expect(markdown).toContain('**Emulators, not the cloud.** Amazon SQS FIFO on fauxqs');
    expect(markdown).toMatch(/\| Amazon SQS FIFO \| [\d,.]+ \(/);
  });

  it('runs the cdc scenario on its private wal_level=logical cluster and binlog MariaDB and writes the polling vs CDC table, the peer included', async () => {
    const { main } = await import('../run.mjs');
    const written = await main(['--quick', '--only', 'cdc', '--runs', '1', '--events', '300', '--out', join(out, 'cdc')]);
    expect(written.failed).toBe(0);

    const result = JSON.parse(readFileSync(written.jsonPath, 'utf8')).scenarios.cdc.result;
    expect(Object.keys(result.sources)).toEqual(['poll-nowake', 'poll', 'logical', 'mysql-poll-nowake', 'binlog']);
    type Point = { fraction: number; targetRate: number; events: { median: number }; percentiles: { p99: { median: number } } };
    type Source = { drain: { rate: { median: number } }; capacity: number; steady: (Point & { sourceCpuUsPerEvent: { median: number } })[] };
    for (const source of Object.values(result.sources) as Source[]) {
      expect(source.drain.rate.median).toBeGreaterThan(0);
      // Load levels are fractions of the end-to-end capacity, which the drain rate bounds.
      expect(source.capacity).toBeGreaterThan(0);
      expect(source.capacity).toBeLessThanOrEqual(source.drain.rate.median);
      expect(source.steady[0]!.targetRate).toBeCloseTo(Math.max(1, source.capacity * source.steady[0]!.fraction), 6);
      expect(source.steady[0]!.events.median).toBeGreaterThan(0);
      // The source ran in a process of its own and reported that process's CPU.
      expect(source.steady[0]!.sourceCpuUsPerEvent.median).toBeGreaterThan(0);
    }
    // The latency floor (publish right after COMMIT, no relay) at the change-log sources' rates.
    for (const [db, id] of [
      ['postgres', 'logical'],
      ['mysql', 'binlog'],
    ] as const) {
      const floor = result.floor[db] as { comparedWith: string; steady: Point[] };
      expect(floor.comparedWith).toBe(id);
      expect(floor.steady.map((p) => p.targetRate)).toEqual((result.sources[id] as Source).steady.map((p) => p.targetRate));
      expect(floor.steady[0]!.events.median).toBeGreaterThan(0);
      expect(floor.steady[0]!.percentiles.p99.median).toBeGreaterThan(0);
    }
    for (const key of ['none', 'poll', 'logical', 'logical/none', 'poll-tx/none']) expect(result.producer.postgres[key].median, key).toBeGreaterThan(0);
    for (const key of ['none', 'mysql-poll-nowake', 'binlog', 'binlog/none', 'binlog-tx/none'])
      expect(result.producer.mysql[key].median, key).toBeGreaterThan(0);
    expect(result.peer.errors).toEqual([]);
    expect(result.peer.drain.rate.median).toBeGreaterThan(0);

    const markdown = readFileSync(written.mdPath, 'utf8');
    expect(markdown).toContain('### Polling vs CDC');
    expect(markdown).toMatch(/\| PostgreSQL \| `logical` \(logical replication \(pgoutput slot\)\) \| [\d,.]+ \(/);
    expect(markdown).toMatch(/\| MariaDB \| `binlog` \(MariaDB row binlog \(checkpoint row\)\) \| [\d,.]+ \(/);
    expect(markdown).toMatch(/\| MariaDB \| `binlog`'s \| [\d,.]+ \(/);
    expect(markdown).toMatch(/\| pg-transactional-outbox 0\.5\.7, logical-replication listener \(child process\) \| [\d,.]+ \(/);
  }, 180_000);
});
