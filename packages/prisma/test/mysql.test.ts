import { describeOrmAdapterConformance } from '@outboxkit/testkit';
import { mariadb } from './support/databases.js';
import { prismaAdapter } from './support/prisma-adapter.js';
import { describePrismaOutbox } from './support/prisma-outbox-suite.js';

// One MariaDB database per suite, dropped afterwards (see support/databases.ts).
describeOrmAdapterConformance(prismaAdapter(mariadb));
describePrismaOutbox(mariadb);
