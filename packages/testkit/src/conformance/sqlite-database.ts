import { join } from 'node:path';
import type { Dialect, SqlDatabase } from '@outboxkit/core';
import type { ConformanceDatabase } from './harness.js';
import { removeTempDir, tempDirRemovedOnExit } from '../servers/exit-guard.js';

/** The part of `@outboxkit/sqlite` this helper uses; pass the module itself (testkit does not depend on it). */
export interface SqliteModule {
  createSqliteDialect(): Dialect;
  openSqliteDatabase(file: string): SqlDatabase;
}

/**
 * A migrated outbox database in a fresh temporary SQLite file: the quickest place for a
 * publisher's conformance cases that run the real relay (no server, nothing shared).
 *
 * @example
 * import * as sqlite from '@outboxkit/sqlite';
 * const harness = { ..., database: () => sqliteConformanceDatabase(sqlite) };
 */
export async function sqliteConformanceDatabase(sqlite: SqliteModule): Promise<ConformanceDatabase> {
  const dir = tempDirRemovedOnExit('okt-publisher-');
  const file = join(dir, 'outbox.db');
  const pools: SqlDatabase[] = [];
  const open = (): SqlDatabase => {
    const pool = sqlite.openSqliteDatabase(file);
    pools.push(pool);
    return pool;
  };
  const dialect = sqlite.createSqliteDialect();
  const database = open();
  await dialect.migrate(database);
  return {
    dialect,
    database,
    openPool: async () => open(),
    async dispose() {
      await Promise.all(pools.map((pool) => pool.close()));
      removeTempDir(dir);
    },
  };
}
