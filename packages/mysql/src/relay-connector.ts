import type { RelayConnector, RelayDatabaseOptions } from '@outboxkit/core';
import { createMysqlDialect, type MysqlDialect } from './mysql-dialect.js';
import { createMysqlPool, mysqlDatabase } from './mysql-driver.js';

function dialect(_url: string, options: RelayDatabaseOptions): MysqlDialect {
  return createMysqlDialect(options.tables === undefined ? {} : { tables: options.tables });
}

/**
 * How the `outbox-relay` binary opens a MySQL or MariaDB database. MySQL has no LISTEN/NOTIFY,
 * so there is no wake source: the relay polls adaptively, and commits in its own process wake it.
 */
export const relayConnector: RelayConnector = {
  schemes: ['mysql:', 'mariadb:'],
  dialect,
  async open(url, options) {
    return { dialect: dialect(url, options), database: mysqlDatabase(createMysqlPool(url)), wakeSources: [] };
  },
};
