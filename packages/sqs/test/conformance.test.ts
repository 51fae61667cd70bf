import { describePublisherConformance } from '@outboxkit/testkit';
import { afterAll } from 'vitest';
import { awsHarness, stopSharedFauxqs } from './harness.js';

describePublisherConformance(awsHarness({ service: 'sqs', fifo: true }));
describePublisherConformance(awsHarness({ service: 'sqs', fifo: false }));
describePublisherConformance(awsHarness({ service: 'sns', fifo: true }));
afterAll(stopSharedFauxqs);
