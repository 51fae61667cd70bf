export { createMysqlDialect, type MysqlDialect } from './mysql-dialect.js';
export { normalizeMysqlOptions, type MysqlDialectOptions, type NormalizedMysqlOptions } from './mysql-options.js';
export {
  createMysqlPool,
  mysqlDatabase,
  mysqlExecutor,
  type MysqlPool,
  type MysqlPoolConnection,
  type MysqlPoolOptions,
  type MysqlQueryable,
  type MysqlQueryResult,
} from './mysql-driver.js';
export { mysqlMigrations } from './mysql-migrations.js';
export { enqueue, type EnqueueOptions } from './enqueue.js';
export { mysqlInbox, mysqlInboxDdl } from './mysql-inbox.js';
export { relayConnector } from './relay-connector.js';
export {
  binlogEventOf,
  binlogServerId,
  CHECKPOINT_TABLE,
  createCheckpoint,
  loadZongJi,
  mysqlBinlogSource,
  mysqlChangeLog,
  readBinlogStatus,
  readCheckpoint,
  requireReadableCheckpoint,
  requireRowBinlog,
  resolveCheckpointName,
  type MysqlChangeLogOptions,
} from './cdc/index.js';
