// `pnpm test:soak`: see soak.ts. OUTBOX_SOAK_MS shortens (or lengthens) the run; OUTBOX_SOAK_SEED picks the fault sequence.
import { expect, it } from 'vitest';
import { soak } from './soak.js';

const DURATION_MS = Number(process.env.OUTBOX_SOAK_MS ?? 600_000);
const SEED = Number(process.env.OUTBOX_SOAK_SEED ?? 20261202);

it(
  `soak: writers on PostgreSQL, MariaDB and SQLite for ${Math.round(DURATION_MS / 1000)} s under relay kills and freezes, broker and database restarts, link cuts`,
  async () => {
    const result = await soak({ durationMs: DURATION_MS, seed: SEED });
    expect(result.rows).toHaveLength(3);
    for (const row of result.rows) {
      expect({ database: row.scenario, lost: row.lost, unexpected: row.unexpected, orderViolations: row.orderViolations }).toEqual({
        database: row.scenario,
        lost: 0,
        unexpected: 0,
        orderViolations: 0,
      });
    }
    expect(Object.keys(result.actions).length, 'every kind of fault was injected at least once').toBe(6);
  },
  DURATION_MS + 1_800_000,
);
