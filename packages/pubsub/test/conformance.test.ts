import { describePublisherConformance } from '@outboxkit/testkit';
import { afterAll } from 'vitest';
import { pubsubHarness, stopSharedEmulator } from './harness.js';

describePublisherConformance(pubsubHarness);
afterAll(stopSharedEmulator);
