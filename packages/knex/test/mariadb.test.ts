import { describeOrmAdapterConformance } from '@outboxkit/testkit';
import { mariadbTarget } from './support/databases.js';
import { knexAdapter } from './support/knex-adapter.js';
import { describeKnexOutbox } from './support/knex-suite.js';

// Own database for each suite of this file (see support/databases.ts); dropped in afterAll.
describeOrmAdapterConformance(knexAdapter(mariadbTarget));
describeKnexOutbox(mariadbTarget);
