import { createPgPool, pgDatabase } from '../postgres-driver.js';
import { createPostgresDialect } from '../postgres-dialect.js';
import type { LogicalSourceConnector, SqlDatabase } from '@outboxkit/core';
import { resolveLogicalNames } from './logical-names.js';
import { PostgresLogicalReader } from './logical-reader.js';
import { readSlotStatus, setupLogicalSource } from './logical-setup.js';

export { resolveLogicalNames, type ResolvedLogicalNames } from './logical-names.js';
export { readSlotStatus, setupLogicalSource, requireLogicalWal } from './logical-setup.js';
export { PostgresLogicalReader, type PostgresLogicalReaderOptions } from './logical-reader.js';
export { eventOf } from './change-stream.js';

/** One short-lived connection for the setup and status commands. */
async function withConnection<T>(url: string, work: (db: SqlDatabase) => Promise<T>): Promise<T> {
  const db = pgDatabase(createPgPool(url, { max: 1 }));
  try {
    return await work(db);
  } finally {
    await db.close();
  }
}

/** PostgreSQL's log-based source: a `pgoutput` slot on a publication of the events table. */
export const postgresLogicalSource: LogicalSourceConnector = {
  setup(url, options) {
    const tables = createPostgresDialect({ tables: options.tables }).tables;
    return withConnection(url, (db) => setupLogicalSource(db, tables, resolveLogicalNames(tables, options)));
  },
  slotStatus(url, options) {
    const tables = createPostgresDialect({ tables: options.tables }).tables;
    return withConnection(url, (db) => readSlotStatus(db, resolveLogicalNames(tables, options).slot, tables));
  },
  reader(url, target, options) {
    return new PostgresLogicalReader({
      ...options,
      url,
      dialect: target.dialect,
      database: target.database,
      names: resolveLogicalNames(target.dialect.tables, options),
    });
  },
};
