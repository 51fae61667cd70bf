// The representative subset of the fault scenarios, small enough for the default suite (two
// files, so they run side by side). The full set (larger sizes, every database, more scenarios)
// is test/faults/*.faults.ts, run by `pnpm test:faults` (vitest.faults.config.ts); see
// docs/guarantees.md.
import { afterAll, describe, it } from 'vitest';
import { fileRows, formatTable } from './harness.js';
import { brokerFreeze, brokerKill, poison } from './scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);

describe('fault injection subset: broker and poison (full set: pnpm test:faults)', () => {
  afterAll(() => {
    if (fileRows().length > 0) console.log(`\nfault injection subset: broker and poison (full set: pnpm test:faults)\n${formatTable(fileRows())}`);
  });

  it(
    '4: private broker SIGKILLed and restarted while publishing',
    () => brokerKill({ events: 3000, aggregates: 50, kills: 1, downMs: 2000, seed: SEED }),
    240_000,
  );

  it('5: private broker frozen (SIGSTOP) for 12 s', () => brokerFreeze({ events: 3000, aggregates: 50, freezeMs: 12_000, seed: SEED }), 240_000);

  it(
    '11: poison events (unroutable, oversized) are quarantined and only their aggregates park',
    () => poison({ events: 1000, aggregates: 50, seed: SEED }),
    180_000,
  );
});
