import { describeOrmAdapterConformance } from '@outboxkit/testkit';
import { sqlite } from './support/databases.js';
import { kyselyAdapter } from './support/kysely-adapter.js';
import { describeKyselyOutbox } from './support/kysely-suite.js';

// One isolated database per suite, dropped afterwards (see support/databases.ts).
describeOrmAdapterConformance(kyselyAdapter(sqlite));
describeKyselyOutbox(sqlite);
