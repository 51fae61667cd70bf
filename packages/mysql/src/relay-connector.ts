import type { RelayConnector, RelayDatabaseOptions } from '@outboxkit/core';
import { createMysqlDialect, type MysqlDialect } from './mysql-dialect.js';
import { createMysqlPool, mysqlDatabase } from './mysql-driver.js';
import { mysqlBinlogSource } from './cdc/index.js';

function dialect(_url: string, options: RelayDatabaseOptions): MysqlDialect {
  return createMysqlDialect({ tables: options.tables });
}

/**
 * How the `outbox-relay` binary opens a MySQL or MariaDB database. MySQL has no LISTEN/NOTIFY,
 * so there is no wake source: the relay polls adaptively, and commits in its own process wake it.
 * With `sessionLimits`, every session of the pool bounds its lock waits and (MariaDB) its idle
 * time inside a transaction. `--source logical` reads the row binlog instead (`@vlasky/zongji`, loaded then).
 */
export const relayConnector: RelayConnector = {
  schemes: ['mysql:', 'mariadb:'],
  tenancy: 'schema',
  dialect,
  logical: mysqlBinlogSource,
  async open(url, options) {
    const pool = createMysqlPool(url, options.sessionLimits ? { sessionLimits: options.sessionLimits } : {});
    return { dialect: dialect(url, options), database: mysqlDatabase(pool), wakeSources: [] };
  },
};
