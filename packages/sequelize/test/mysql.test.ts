import { describeSequelizeOutbox } from './suite.js';
import { mysqlTarget } from './support.js';

// Own MariaDB database for this file (see support.ts); dropped in afterAll.
describeSequelizeOutbox(mysqlTarget);
