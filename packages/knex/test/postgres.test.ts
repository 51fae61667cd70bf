import { describeOrmAdapterConformance } from '@outboxkit/testkit';
import { postgresTarget } from './support/databases.js';
import { knexAdapter } from './support/knex-adapter.js';
import { describeKnexOutbox } from './support/knex-suite.js';

// Own database for each suite of this file (see support/databases.ts); dropped in afterAll.
describeOrmAdapterConformance(knexAdapter(postgresTarget));
describeKnexOutbox(postgresTarget);
