import { describeSequelizeOutbox } from './suite.js';
import { sqliteTarget } from './support.js';

// Own SQLite file for this file (see support.ts); dropped in afterAll.
describeSequelizeOutbox(sqliteTarget);
