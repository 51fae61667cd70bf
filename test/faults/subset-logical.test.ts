// The representative subset of the logical-source fault scenarios for the default suite; the
// full set is test/faults/logical.faults.ts (`pnpm test:faults`).
import { afterAll, describe, it } from 'vitest';
import { fileRows, formatTable } from './harness.js';
import { logicalBrokerDown, logicalRelayKills, logicalTakeover } from './logical-scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);

describe('fault injection subset: logical source (full set: pnpm test:faults)', () => {
  afterAll(() => {
    if (fileRows().length > 0) console.log(`\nfault injection subset: logical source\n${formatTable(fileRows())}`);
  });

  it(
    'L1: logical reader SIGKILLed 3 times during 2,000 events over 50 aggregates',
    () => logicalRelayKills({ database: 'PostgreSQL', events: 2000, aggregates: 50, kills: 3, batchSize: 100, seed: SEED }),
    240_000,
  );

  it(
    'L3: standby takeover after the active reader is SIGSTOPped past its lease',
    () => logicalTakeover({ database: 'PostgreSQL', events: 2000, aggregates: 20, seed: SEED }),
    240_000,
  );

  it(
    'B1: binlog reader (MariaDB) SIGKILLed 3 times during 2,000 events over 50 aggregates',
    () => logicalRelayKills({ database: 'MariaDB', events: 2000, aggregates: 50, kills: 3, batchSize: 100, seed: SEED }),
    240_000,
  );

  it(
    'B3: binlog standby takeover after the active reader is SIGSTOPped past its lease',
    () => logicalTakeover({ database: 'MariaDB', events: 2000, aggregates: 20, seed: SEED }),
    240_000,
  );

  it(
    'L5: the broker unreachable for 8 s under 2,000 events over 50 aggregates, the reader SIGKILLed during it',
    () => logicalBrokerDown({ events: 2000, aggregates: 50, downMs: 8000, seed: SEED }),
    240_000,
  );
});
