// Full fault set, relay processes: SIGKILL (every database), SIGSTOP past the lease, SIGSTOP
// inside the settle transaction, churn.
import { describe, it } from 'vitest';
import { frozenInTransaction, pausedRelay, relayChurn, relayKills } from './scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);

describe('relay processes killed, paused, added', () => {
  it('1: 20 SIGKILLs during 50,000 events over 500 aggregates (PostgreSQL)', () =>
    relayKills({ kind: 'PostgreSQL', events: 50_000, aggregates: 500, kills: 20, batchSize: 500, seed: SEED }));
  it('1: 10 SIGKILLs during 10,000 events over 200 aggregates (MariaDB)', () =>
    relayKills({ kind: 'MariaDB', events: 10_000, aggregates: 200, kills: 10, batchSize: 500, seed: SEED }));
  it('1: 10 SIGKILLs during 10,000 events over 200 aggregates (SQLite)', () =>
    relayKills({ kind: 'SQLite', events: 10_000, aggregates: 200, kills: 10, batchSize: 500, seed: SEED }));
  it('3: a relay SIGSTOPped past its lease is fenced after SIGCONT', () => pausedRelay({ events: 12_000, aggregates: 20, seed: SEED }));
  it.each(['PostgreSQL', 'MariaDB'] as const)('13: a relay frozen inside its settle transaction does not stop the group (%s)', (kind) =>
    frozenInTransaction({ kind, events: 6000, aggregates: 200, ttlMs: 2000, seed: SEED }),
  );
  it('2: three relays, one SIGKILLed and one added mid-run', () => relayChurn({ eventsPerPhase: 3000, aggregates: 200, seed: SEED }));
});
