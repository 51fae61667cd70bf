import type { RelayConnector, RelayDatabaseOptions, WakeSource } from '@outboxkit/core';
import { createPostgresDialect, type PostgresDialect } from './postgres-dialect.js';
import { createPgPool, pgDatabase } from './postgres-driver.js';
import { pgListener } from './postgres-listener.js';
import { postgresLogicalSource } from './cdc/index.js';

/** Connections the relay's pool opens at most: claims, settles and lease updates are short and sequential. */
const RELAY_POOL_SIZE = 4;

function dialect(_url: string, options: RelayDatabaseOptions): PostgresDialect {
  return createPostgresDialect({ tables: options.tables });
}

/**
 * How the `outbox-relay` binary opens a PostgreSQL database: a small pool and, when the relay
 * listens, a LISTEN connection on the dialect's notify channel, so a commit anywhere wakes it.
 * With `sessionLimits`, every transaction of the pool bounds its lock waits and its idle time
 * (a relay paused inside its settle transaction is disconnected by the server, releasing its
 * lease rows).
 */
export const relayConnector: RelayConnector = {
  schemes: ['postgres:', 'postgresql:'],
  tenancy: 'schema',
  dialect,
  logical: postgresLogicalSource,
  async open(url, options) {
    const relayDialect = dialect(url, options);
    const pool = createPgPool(url, {
      max: RELAY_POOL_SIZE,
      onError: (error) => options.warn?.('idle database connection failed', { err: error.message }),
    });
    const channel = relayDialect.notifyChannel;
    const wakeSources: WakeSource[] =
      options.listen && channel !== null
        ? [
            pgListener({
              connect: url,
              channel,
              onError: (error) => options.warn?.('LISTEN connection lost; polling until it is back', { err: error.message }),
            }),
          ]
        : [];
    return { dialect: relayDialect, database: pgDatabase(pool, options.sessionLimits ? { sessionLimits: options.sessionLimits } : {}), wakeSources };
  },
};
