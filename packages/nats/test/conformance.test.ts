import { describePublisherConformance } from '@outboxkit/testkit';
import { natsHarness } from './harness.js';

describePublisherConformance(natsHarness);
