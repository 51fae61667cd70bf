import { describePublisherConformance } from '@outboxkit/testkit';
import { redisHarness } from './harness.js';

describePublisherConformance(redisHarness);
