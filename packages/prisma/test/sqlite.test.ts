import { describeOrmAdapterConformance } from '@outboxkit/testkit';
import { sqlite } from './support/databases.js';
import { prismaAdapter } from './support/prisma-adapter.js';
import { describePrismaOutbox } from './support/prisma-outbox-suite.js';

// One database file in a temporary directory per suite, deleted afterwards (see support/databases.ts).
describeOrmAdapterConformance(prismaAdapter(sqlite));
describePrismaOutbox(sqlite);
