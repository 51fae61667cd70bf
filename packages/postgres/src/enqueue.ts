import { OutboxConfigError, writeEvents, type Dialect, type EventInput, type EventMap, type WrittenEvent } from '@outboxkit/core';
import { createPostgresDialect, type PostgresDialect } from './postgres-dialect.js';
import { pgExecutor, type PgQueryable } from './postgres-driver.js';
import type { PostgresDialectOptions } from './postgres-options.js';

/** Where to write: a dialect you created once (preferred), or the options to create one. */
export interface EnqueueOptions extends PostgresDialectOptions {
  /**
   * The dialect to write with, e.g. the one your relay uses. Pass this OR `tables`/`notify`.
   * @example { dialect: createPostgresDialect({ tables: { schema: 'app' } }) }
   */
  dialect?: Dialect;
}

let defaultDialect: PostgresDialect | undefined;
// Dialects built from options, keyed by those options: callers often pass a fresh literal per call.
const dialectsByOptions = new Map<string, PostgresDialect>();

/**
 * Writes events inside the transaction open on `client` (a `pg` Client or PoolClient on which
 * you ran `BEGIN`). The events commit or roll back with your change. Without an open transaction
 * it throws `OutboxTransactionRequiredError` and writes nothing; invalid events throw
 * `OutboxValidationError` before anything is written.
 *
 * @example
 * const client = await pool.connect();
 * try {
 *   await client.query('BEGIN');
 *   await client.query('INSERT INTO orders (id, total) VALUES ($1, $2)', [orderId, total]);
 *   await enqueue(client, { aggregateType: 'order', aggregateId: orderId, type: 'OrderPlaced', payload: { orderId, total } });
 *   await client.query('COMMIT');
 * } catch (error) {
 *   await client.query('ROLLBACK');
 *   throw error;
 * } finally {
 *   client.release();
 * }
 */
export async function enqueue<Events extends EventMap = EventMap>(
  client: PgQueryable,
  events: EventInput<Events> | readonly EventInput<Events>[],
  options: EnqueueOptions = {},
): Promise<WrittenEvent[]> {
  const dialect = dialectFor(options);
  return writeEvents(dialect, pgExecutor(client), events);
}

function dialectFor(options: EnqueueOptions): Dialect {
  const { dialect, ...dialectOptions } = options;
  if (dialect !== undefined) {
    if (Object.keys(dialectOptions).length > 0) {
      throw new OutboxConfigError('dialect', `pass either a dialect or ${Object.keys(dialectOptions).join('/')}, not both: the dialect already fixes them`);
    }
    return dialect;
  }
  if (Object.keys(dialectOptions).length === 0) return (defaultDialect ??= createPostgresDialect());
  const key = JSON.stringify(dialectOptions);
  let cached = dialectsByOptions.get(key);
  if (!cached) {
    cached = createPostgresDialect(dialectOptions);
    dialectsByOptions.set(key, cached);
  }
  return cached;
}
