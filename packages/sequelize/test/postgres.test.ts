import { describeOrmAdapterConformance } from '@outboxkit/testkit';
import { sequelizeAdapter } from './sequelize-adapter.js';
import { describeSequelizeOutbox } from './suite.js';
import { postgresTarget } from './support.js';

// Own database for each suite of this file (see support.ts); dropped in afterAll.
describeOrmAdapterConformance(sequelizeAdapter(postgresTarget));
describeSequelizeOutbox(postgresTarget);
