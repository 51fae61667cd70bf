// Full fault set for NATS JetStream, Redis Streams, SQS/SNS on fauxqs and Pub/Sub on its emulator (private servers): broker SIGKILLed and
// restarted, frozen past the publish timeout, relay SIGKILLed mid-batch.
import { describe, it } from 'vitest';
import { otherBrokerFault, type BrokerFault, type OtherBroker } from './broker-scenarios.js';

const SEED = Number(process.env.OUTBOX_FAULTS_SEED ?? 20261126);

describe('private NATS, Redis, fauxqs and Pub/Sub emulator servers killed and frozen, relay killed', () => {
  for (const broker of [
    'NATS JetStream',
    'Redis Streams',
    'Amazon SQS FIFO',
    'Amazon SNS FIFO',
    'Google Cloud Pub/Sub',
  ] as const satisfies readonly OtherBroker[]) {
    for (const fault of ['broker-kill', 'broker-freeze', 'relay-kill'] as const satisfies readonly BrokerFault[]) {
      it(`${broker}: ${fault}`, () => otherBrokerFault({ broker, fault, events: 10_000, aggregates: 200, outageMs: 10_000, seed: SEED }));
    }
  }
});
