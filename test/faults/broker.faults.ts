// Full fault set, the broker (a private RabbitMQ node): crashed and restarted, frozen.
import { describe, it } from 'vitest';
import { brokerFreeze, brokerKill } from './scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);

describe('private RabbitMQ node killed and frozen', () => {
  it('4: broker SIGKILLed and restarted 3 times while publishing', () => brokerKill({ events: 15_000, aggregates: 200, kills: 3, downMs: 3000, seed: SEED }));
  it('5: broker frozen (SIGSTOP) for 30 s', () => brokerFreeze({ events: 10_000, aggregates: 200, freezeMs: 30_000, seed: SEED }));
});
