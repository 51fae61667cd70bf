import { cachedDialect, enqueueDialect, writeEvents, type EventInput, type EventMap, type WriterDialect, type WrittenEvent } from '@outboxkit/core';
import { createMysqlDialect } from './mysql-dialect.js';
import { mysqlExecutor, type MysqlQueryable } from './mysql-driver.js';
import type { MysqlDialectOptions } from './mysql-options.js';

/** Where to write: a dialect you created once (preferred), or the options to create one. */
export interface EnqueueOptions extends MysqlDialectOptions {
  /**
   * The dialect to write with, e.g. the one your relay uses. Pass this OR `tables`.
   * @example { dialect: createMysqlDialect({ tables: { schema: 'app' } }) }
   */
  dialect?: WriterDialect;
}

const dialectFor = cachedDialect(createMysqlDialect);

/**
 * Writes events into the outbox inside the transaction open on `connection` (a mysql2 promise
 * connection on which you ran `BEGIN`), so they commit or roll back with your change. Without an
 * open transaction it throws `OutboxTransactionRequiredError` and writes nothing. Events become
 * visible to relays at your `COMMIT`; call core's `signalLocalCommit()` after it to wake a relay
 * in the same process at once.
 *
 * @example
 * const conn = await pool.getConnection();
 * try {
 *   await conn.beginTransaction();
 *   await conn.query('UPDATE orders SET status = ? WHERE id = ?', ['paid', 'o-1']);
 *   await enqueue(conn, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPaid', payload: { total: 5 } });
 *   await conn.commit();
 * } catch (error) {
 *   await conn.rollback();
 *   throw error;
 * } finally {
 *   conn.release();
 * }
 */
export async function enqueue<Events extends EventMap = EventMap>(
  connection: MysqlQueryable,
  events: EventInput<Events> | readonly EventInput<Events>[],
  options: EnqueueOptions = {},
): Promise<WrittenEvent[]> {
  return writeEvents(enqueueDialect(options, dialectFor), mysqlExecutor(connection), events);
}
