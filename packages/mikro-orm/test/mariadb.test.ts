import { describeOrmAdapterConformance } from '@outboxkit/testkit';
import { mariadb } from './support/databases.js';
import { mikroOrmAdapter } from './support/mikro-orm-adapter.js';
import { describeMikroOrmOutbox } from './support/outbox-suite.js';
import { describeSchemaGeneratorKeepsOutbox } from './support/schema-generator-suite.js';

// A database of its own per suite on the shared server (see support/databases.ts).
describeOrmAdapterConformance(mikroOrmAdapter(mariadb));
describeMikroOrmOutbox(mariadb);
describeSchemaGeneratorKeepsOutbox(mariadb);
