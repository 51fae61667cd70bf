import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs module of the harness, without types
import { cpuPerEvent, machineCpu } from '../lib/machine-cpu.mjs';

// A child that spins for a while, reports its own CPU time and exits.
const SPIN = `const until = Date.now() + 300; let n = 0; while (Date.now() < until) n++;
const u = process.cpuUsage(); process.send({ cpuMs: (u.user + u.system) / 1000 }, () => process.exit(0));`;

describe('machine CPU by role (/proc)', () => {
  it("counts a forked child's CPU as the benchmark's, also after it exited and was reaped", async () => {
    const measured = machineCpu();
    const started = performance.now();
    const child = spawn(process.execPath, ['-e', SPIN], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    const [reported] = await Promise.all([
      new Promise<{ cpuMs: number }>((resolve) => child.once('message', (message) => resolve(message as { cpuMs: number }))),
      new Promise((resolve) => child.once('exit', resolve)),
    ]);
    const used = measured.stop(performance.now() - started);
    // Without /proc there is nothing to read: the documented answer is null, never made-up figures.
    if (process.platform !== 'linux') return expect(used).toBeNull();
    // /proc counts in 10 ms ticks, sampled: allow two of them.
    expect(used.benchmarkMs).toBeGreaterThanOrEqual(reported.cpuMs - 20);
    expect(used.benchmarkMs).toBeLessThanOrEqual(used.machineMs + 20);
    expect(used.otherMs).toBeGreaterThanOrEqual(0);
    expect(used.busy).toBeGreaterThan(0);
  });

  it('turns what a role used into µs per event, under the prefix asked for', () => {
    const used = { machineMs: 30, databaseMs: 10, brokerMs: 5, benchmarkMs: 12, otherMs: 3, busy: 0.5 };
    expect(cpuPerEvent(used, 1000, 'raw')).toEqual({
      rawMachineUsPerEvent: 30,
      rawDatabaseUsPerEvent: 10,
      rawBrokerUsPerEvent: 5,
      rawBenchmarkUsPerEvent: 12,
      rawOtherUsPerEvent: 3,
      rawMachineBusy: 0.5,
    });
    expect(cpuPerEvent(null, 1000)).toEqual({});
  });
});
