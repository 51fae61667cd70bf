import { cachedDialect, enqueueDialect, writeEvents, type EventInput, type EventMap, type WriterDialect, type WrittenEvent } from '@outboxkit/core';
import { createPostgresDialect } from './postgres-dialect.js';
import { pgExecutor, type PgQueryable } from './postgres-driver.js';
import type { PostgresDialectOptions } from './postgres-options.js';

/** Where to write: a dialect you created once (preferred), or the options to create one. */
export interface EnqueueOptions extends PostgresDialectOptions {
  /**
   * The dialect to write with, e.g. the one your relay uses. Pass this OR `tables`/`notify`.
   * @example { dialect: createPostgresDialect({ tables: { schema: 'app' } }) }
   */
  dialect?: WriterDialect;
}

const dialectFor = cachedDialect(createPostgresDialect);

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
  return writeEvents(enqueueDialect(options, dialectFor), pgExecutor(client), events);
}
