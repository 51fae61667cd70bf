export { createPostgresDialect, type PostgresDialect } from './postgres-dialect.js';
export { normalizePostgresOptions, POSTGRES_DEFAULTS, type PostgresDialectOptions, type NormalizedPostgresOptions } from './postgres-options.js';
export {
  pgDatabase,
  pgExecutor,
  createPgPool,
  type PgQueryable,
  type PgQueryResultLike,
  type PgPoolLike,
  type PgPoolClientLike,
  type PgPoolOptions,
} from './postgres-driver.js';
export { postgresMigrations, migratePostgres, MIGRATION_LOCK_KEY } from './postgres-migrations.js';
export { pgListener, type PgListenerOptions, type PgListenerState, type PgListenClient } from './postgres-listener.js';
export { enqueue, type EnqueueOptions } from './enqueue.js';
export { postgresInbox, postgresInboxDdl } from './postgres-inbox.js';
export { relayConnector } from './relay-connector.js';
export {
  postgresLogicalSource,
  PostgresLogicalReader,
  resolveLogicalNames,
  setupLogicalSource,
  readSlotStatus,
  requireLogicalWal,
  type PostgresLogicalReaderOptions,
  type ResolvedLogicalNames,
} from './cdc/index.js';
