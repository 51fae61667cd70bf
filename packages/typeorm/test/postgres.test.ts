import { describeOrmAdapterConformance } from '@outboxkit/testkit';
import { postgresTarget } from './support/databases.js';
import { typeormAdapter } from './support/typeorm-adapter.js';
import { describeTypeormOutbox } from './support/typeorm-suite.js';

// Own database for each suite of this file (see support/databases.ts); dropped in afterAll.
describeOrmAdapterConformance(typeormAdapter(postgresTarget));
describeTypeormOutbox(postgresTarget);
