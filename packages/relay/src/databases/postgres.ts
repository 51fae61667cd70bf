import type { Dialect } from '@outboxkit/core';
import { createPgPool, createPostgresDialect, pgDatabase, pgListener, type PostgresDialect } from '@outboxkit/postgres';
import type { DatabaseModule, OpenOptions } from '../connect.js';

export function dialect(_url: string, options: OpenOptions): Dialect {
  return createPostgresDialect({ tables: options.tables });
}

export const open: DatabaseModule['open'] = async (url, dialect, options) => {
  const pool = createPgPool(url, { max: 4, onError: (error) => options.warn?.('idle database connection failed', { err: error.message }) });
  const channel = (dialect as PostgresDialect).notifyChannel;
  const wakeSources =
    options.listen && channel
      ? [
          pgListener({
            connect: url,
            channel,
            onError: (error) => options.warn?.('LISTEN connection lost; polling until it is back', { err: error.message }),
          }),
        ]
      : [];
  return { database: pgDatabase(pool), wakeSources };
};
