// The representative subset of the fault scenarios, small enough for the default suite (two
// files, so they run side by side). The full set (larger sizes, every database, more scenarios)
// is test/faults/*.faults.ts, run by `pnpm test:faults` (vitest.faults.config.ts); see
// docs/guarantees.md.
import { afterAll, describe, it } from 'vitest';
import { fileRows, formatTable } from './harness.js';
import { frozenInTransaction, pausedRelay, relayKills, rollbacks } from './scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);

describe('fault injection subset: relay processes (full set: pnpm test:faults)', () => {
  afterAll(() => {
    if (fileRows().length > 0) console.log(`\nfault injection subset: relay processes (full set: pnpm test:faults)\n${formatTable(fileRows())}`);
  });

  it(
    '1: relay SIGKILLed 5 times during 5,000 events over 100 aggregates (PostgreSQL)',
    () => relayKills({ kind: 'PostgreSQL', events: 5000, aggregates: 100, kills: 5, batchSize: 200, seed: SEED }),
    240_000,
  );

  it(
    '13: a relay frozen inside its settle transaction does not stop the group (PostgreSQL)',
    () => frozenInTransaction({ kind: 'PostgreSQL', events: 3000, aggregates: 100, ttlMs: 2000, seed: SEED }),
    240_000,
  );

  it('3: a relay paused past its lease is fenced when it resumes', () => pausedRelay({ events: 5000, aggregates: 20, seed: SEED }), 240_000);

  it(
    '9: 10% rollbacks, some after a savepoint that wrote an event (SQLite)',
    () => rollbacks({ kind: 'SQLite', events: 1000, aggregates: 50, seed: SEED }),
    120_000,
  );
});
