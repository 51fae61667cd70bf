// Full fault set, the database and the writers: crash-restart of a private PostgreSQL cluster,
// rollbacks and savepoints on every database, a long-open transaction, poison events.
import { describe, it } from 'vitest';
import { consumerKills, databaseRestart, leastPrivilege, longTransaction, poison, rollbacks } from './scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);

describe('database faults, rollbacks, long transactions, poison', () => {
  it.each(['PostgreSQL', 'MariaDB', 'SQLite'] as const)('9: 10%% rollbacks with savepoints (%s)', (kind) =>
    rollbacks({ kind, events: 5000, aggregates: 200, seed: SEED }),
  );
  it('11: poison events are quarantined with a reason; only their aggregates park', () => poison({ events: 5000, aggregates: 200, seed: SEED }));
  it('6: private PostgreSQL stopped with -m immediate twice mid-run; the relay reconnects', () =>
    databaseRestart({ events: 8000, aggregates: 200, restarts: 2, downMs: 3000, seed: SEED }));
  it('10: inbox consumer processes SIGKILLed after commit / before commit; effects exactly once', () =>
    consumerKills({ kind: 'PostgreSQL', events: 2000, aggregates: 100, killsEach: 3, seed: SEED }));
  it('8: one transaction open 60 s while thousands of others commit', () => longTransaction({ holdMs: 60_000, others: 5000, aggregates: 200, seed: SEED }));
  it('12: least privilege: relay as a DML-only PostgreSQL role and a write-only RabbitMQ user', () =>
    leastPrivilege({ events: 2000, aggregates: 100, seed: SEED }));
});
