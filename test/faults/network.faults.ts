// Full fault set, the network: the relay's database behind a veth pair in a network namespace
// the test creates; the link goes down and comes back while the relay works.
import { describe, it } from 'vitest';
import { networkCut } from './scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);

describe('network partition between the relay and its database (ip netns + veth)', () => {
  it('7: the database link goes down for 5 s three times while the relay publishes and marks', () =>
    networkCut({ events: 8000, aggregates: 50, cuts: 3, cutMs: 5000, seed: SEED }));
});
