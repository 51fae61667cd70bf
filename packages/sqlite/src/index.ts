export { createSqliteDialect, executorInTransaction, type SqliteDialect } from './sqlite-dialect.js';
export { normalizeSqliteOptions, type SqliteDialectOptions, type NormalizedSqliteOptions } from './sqlite-options.js';
export {
  openSqliteDatabase,
  sqliteExecutor,
  SqliteExecutor,
  type SqliteConnection,
  type SqliteDatabase,
  type SqliteDatabaseOptions,
  type SqliteStatement,
} from './sqlite-driver.js';
export { DATABASE_BUSY_CODE, DEFAULT_MAX_BUSY_WAIT_MS } from './busy-retry.js';
export { sqliteMigrations, migrateSqlite } from './sqlite-migrations.js';
export { sqlitePathFromUrl } from './sqlite-url.js';
export { enqueue, enqueueSync, type EnqueueOptions } from './enqueue.js';
export { sqlite3Executor, type Sqlite3Database } from './sqlite3-driver.js';
export { sqliteInbox, sqliteInboxDdl } from './sqlite-inbox.js';
export { relayConnector } from './relay-connector.js';
