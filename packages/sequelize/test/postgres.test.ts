import { describeSequelizeOutbox } from './suite.js';
import { postgresTarget } from './support.js';

// Own PostgreSQL schema for this file (see support.ts); dropped in afterAll.
describeSequelizeOutbox(postgresTarget);
