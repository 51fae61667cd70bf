import { describeOrmAdapterConformance } from '@outboxkit/testkit';
import { describeAsyncDrizzleOutbox } from './support/async-outbox-suite.js';
import { mariadb } from './support/databases.js';
import { mysqlAdapter } from './support/drizzle-adapter.js';

// One MariaDB database per suite, dropped afterwards (see support/databases.ts).
describeOrmAdapterConformance(mysqlAdapter(mariadb));
describeAsyncDrizzleOutbox(mariadb);
