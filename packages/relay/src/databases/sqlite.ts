import type { Dialect } from '@outboxkit/core';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import type { DatabaseModule, OpenOptions } from '../connect.js';

export function dialect(_url: string, options: OpenOptions): Dialect {
  return createSqliteDialect({ tables: options.tables });
}

// SQLite has no cross-process notification: a relay in another process polls, and one in the
// writer's process is woken by the in-process commit signal.
export const open: DatabaseModule['open'] = async (url) => ({ database: openSqliteDatabase(url), wakeSources: [] });
