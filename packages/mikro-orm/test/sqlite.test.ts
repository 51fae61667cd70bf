import { describeOrmAdapterConformance } from '@outboxkit/testkit';
import { sqlite } from './support/databases.js';
import { mikroOrmAdapter } from './support/mikro-orm-adapter.js';
import { describeMikroOrmOutbox } from './support/outbox-suite.js';
import { describeSchemaGeneratorKeepsOutbox } from './support/schema-generator-suite.js';

// A file of its own per suite in a temporary directory (see support/databases.ts).
describeOrmAdapterConformance(mikroOrmAdapter(sqlite));
describeMikroOrmOutbox(sqlite);
describeSchemaGeneratorKeepsOutbox(sqlite);
