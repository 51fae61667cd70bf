import { afterAll, describe, it } from 'vitest';
import { fileRows, formatTable } from './harness.js';
import { logicalBrokerDown, logicalDatabaseRestart, logicalLongTransaction, logicalRelayKills, logicalTakeover } from './logical-scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);

describe('fault injection: log-based sources (PostgreSQL logical replication on a wal_level=logical cluster, the MariaDB row binlog on a --log-bin mariadbd)', () => {
  afterAll(() => {
    if (fileRows().length > 0) console.log(`\nfault injection: logical source\n${formatTable(fileRows())}`);
  });

  it(
    'L1: logical reader SIGKILLed 10 times during 10,000 events over 100 aggregates',
    () => logicalRelayKills({ database: 'PostgreSQL', events: 10_000, aggregates: 100, kills: 10, batchSize: 200, seed: SEED }),
    600_000,
  );

  it(
    'L6: the private PostgreSQL crash-restarted twice under writers',
    () => logicalDatabaseRestart({ database: 'PostgreSQL', events: 4000, aggregates: 50, restarts: 2, downMs: 2000, seed: SEED }),
    300_000,
  );

  it(
    'L8: a transaction open for 60 s while 5,000 others commit (commit order)',
    () => logicalLongTransaction({ database: 'PostgreSQL', holdMs: 60_000, others: 5000, aggregates: 50, seed: SEED }),
    300_000,
  );

  it(
    'L5: the broker unreachable for 20 s under 6,000 events over 100 aggregates, the reader SIGKILLed during it',
    () => logicalBrokerDown({ events: 6000, aggregates: 100, downMs: 20_000, seed: SEED }),
    300_000,
  );

  it(
    'L3: standby takeover after the active reader is SIGSTOPped past its lease',
    () => logicalTakeover({ database: 'PostgreSQL', events: 5000, aggregates: 50, seed: SEED }),
    300_000,
  );

  it(
    'B1: binlog reader (MariaDB) SIGKILLed 10 times during 10,000 events over 100 aggregates',
    () => logicalRelayKills({ database: 'MariaDB', events: 10_000, aggregates: 100, kills: 10, batchSize: 200, seed: SEED }),
    600_000,
  );

  it(
    'B6: the private MariaDB SIGKILLed and restarted twice under writers (binlog)',
    () => logicalDatabaseRestart({ database: 'MariaDB', events: 4000, aggregates: 50, restarts: 2, downMs: 2000, seed: SEED }),
    300_000,
  );

  it(
    'B8: a transaction open for 60 s while 5,000 others commit (binlog commit order)',
    () => logicalLongTransaction({ database: 'MariaDB', holdMs: 60_000, others: 5000, aggregates: 50, seed: SEED }),
    300_000,
  );

  it(
    'B3: binlog standby takeover after the active reader is SIGSTOPped past its lease',
    () => logicalTakeover({ database: 'MariaDB', events: 5000, aggregates: 50, seed: SEED }),
    300_000,
  );
});
