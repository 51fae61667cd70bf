// The representative subset of the fault scenarios, small enough for the default suite. The full
// set (larger sizes, every database, more scenarios) is test/faults/*.faults.ts, run by
// `pnpm test:faults` (vitest.faults.config.ts); see docs/guarantees.md.
import { afterAll, describe, it } from 'vitest';
import { fileRows, formatTable } from './harness.js';
import { brokerFreeze, brokerKill, pausedRelay, poison, relayKills, rollbacks } from './scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);

describe('fault injection (subset; full set: pnpm test:faults)', () => {
  afterAll(() => {
    if (fileRows().length > 0) console.log(`\nfault scenarios (subset)\n${formatTable(fileRows())}`);
  });

  it('1: relay SIGKILLed 5 times during 5,000 events over 100 aggregates (PostgreSQL)', () =>
    relayKills({ kind: 'PostgreSQL', events: 5000, aggregates: 100, kills: 5, batchSize: 200, seed: SEED }), 240_000);

  it('4: private broker SIGKILLed and restarted while publishing', () =>
    brokerKill({ events: 3000, aggregates: 50, kills: 1, downMs: 2000, seed: SEED }), 240_000);

  it('5: private broker frozen (SIGSTOP) for 12 s', () =>
    brokerFreeze({ events: 3000, aggregates: 50, freezeMs: 12_000, seed: SEED }), 240_000);

  it('3: a relay paused past its lease is fenced when it resumes', () =>
    pausedRelay({ events: 4000, aggregates: 100, seed: SEED }), 180_000);

  it('9: 10% rollbacks, some after a savepoint that wrote an event (SQLite)', () =>
    rollbacks({ kind: 'SQLite', events: 1000, aggregates: 50, seed: SEED }), 120_000);

  it('11: poison events (unroutable, oversized) are quarantined and only their aggregates park', () =>
    poison({ events: 1000, aggregates: 50, seed: SEED }), 180_000);
});
