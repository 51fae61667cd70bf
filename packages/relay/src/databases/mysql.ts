import type { Dialect } from '@outboxkit/core';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import type { DatabaseModule, OpenOptions } from '../connect.js';

export function dialect(_url: string, options: OpenOptions): Dialect {
  return createMysqlDialect({ tables: options.tables });
}

// MySQL has no LISTEN/NOTIFY: the relay polls adaptively, and in-process commits wake it.
export const open: DatabaseModule['open'] = async (url) => ({ database: mysqlDatabase(createMysqlPool(url)), wakeSources: [] });
