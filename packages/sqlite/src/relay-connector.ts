import type { RelayConnector, RelayDatabaseOptions } from '@outboxkit/core';
import { createSqliteDialect, type SqliteDialect } from './sqlite-dialect.js';
import { openSqliteDatabase } from './sqlite-driver.js';
import { sqlitePathFromUrl } from './sqlite-url.js';

function dialect(_url: string, options: RelayDatabaseOptions): SqliteDialect {
  return createSqliteDialect({ tables: options.tables });
}

/**
 * How the `outbox-relay` binary opens a SQLite file. SQLite has no cross-process notification,
 * so there is no wake source: a relay in another process polls, and one in the writer's process
 * is woken by the in-process commit signal.
 */
export const relayConnector: RelayConnector = {
  schemes: ['sqlite:', 'file:'],
  // One file per tenant: `--database-url sqlite:./tenants` names their directory.
  tenancy: 'file',
  tenantDirectory: sqlitePathFromUrl,
  dialect,
  async open(url, options) {
    // SQLite has one writer and no server to end a paused holder's transaction: the relay's
    // statements wait for the write lock at most the lock-wait limit, then fail and are retried.
    const database = openSqliteDatabase(url, options.sessionLimits ? { maxBusyWaitMs: options.sessionLimits.lockWaitMs } : {});
    return { dialect: dialect(url, options), database, wakeSources: [] };
  },
};
