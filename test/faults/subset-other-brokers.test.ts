// One fault scenario per broker (NATS JetStream, Redis Streams, SQS and SNS on fauxqs, Pub/Sub on its
// emulator) at a size the default suite can carry, each of the three faults on at least one broker;
// every broker x fault at full size is other-brokers.faults.ts (pnpm test:faults). See docs/guarantees.md.
import { afterAll, describe, it } from 'vitest';
import { fileRows, formatTable } from './harness.js';
import { otherBrokerFault, type BrokerFault, type OtherBroker } from './broker-scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);
// Which fault each broker gets here: the one whose outcome differs most between brokers
// (JetStream's duplicate window absorbs a dead relay's re-publishes, Redis has no dedupe for a
// thawed broker's late XADDs, the emulators restart empty).
const SUBSET: readonly [OtherBroker, BrokerFault][] = [
  ['NATS JetStream', 'relay-kill'],
  ['Redis Streams', 'broker-freeze'],
  ['Amazon SQS FIFO', 'broker-kill'],
  ['Amazon SNS FIFO', 'broker-freeze'],
  ['Google Cloud Pub/Sub', 'relay-kill'],
];

describe('fault injection subset: NATS JetStream, Redis Streams, SQS, SNS and Pub/Sub (full set: pnpm test:faults)', () => {
  afterAll(() => {
    if (fileRows().length > 0) console.log(`\nfault injection subset: NATS JetStream, Redis Streams, SQS, SNS and Pub/Sub\n${formatTable(fileRows())}`);
  });
  for (const [broker, fault] of SUBSET) {
    it(`${broker}: ${fault}`, () => otherBrokerFault({ broker, fault, events: 1500, aggregates: 50, outageMs: 5000, seed: SEED }), 240_000);
  }
});
