// The NATS JetStream, Redis Streams, SQS and SNS (fauxqs) and Pub/Sub (emulator) fault scenarios at a size the default suite can carry; the
// full sizes are other-brokers.faults.ts (pnpm test:faults). See docs/guarantees.md.
import { afterAll, describe, it } from 'vitest';
import { fileRows, formatTable } from './harness.js';
import { otherBrokerFault, type BrokerFault, type OtherBroker } from './broker-scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);
const BROKERS: readonly OtherBroker[] = ['NATS JetStream', 'Redis Streams', 'Amazon SQS FIFO', 'Amazon SNS FIFO', 'Google Cloud Pub/Sub'];
const FAULTS: readonly BrokerFault[] = ['broker-kill', 'broker-freeze', 'relay-kill'];

describe('fault injection subset: NATS JetStream, Redis Streams, SQS, SNS and Pub/Sub (full set: pnpm test:faults)', () => {
  afterAll(() => {
    if (fileRows().length > 0) console.log(`\nfault injection subset: NATS JetStream, Redis Streams, SQS, SNS and Pub/Sub\n${formatTable(fileRows())}`);
  });
  for (const broker of BROKERS) {
    for (const fault of FAULTS) {
      it(`${broker}: ${fault}`, () => otherBrokerFault({ broker, fault, events: 1500, aggregates: 50, outageMs: 5000, seed: SEED }), 240_000);
    }
  }
});
