import { OutboxConfigError, writeEvents, type Dialect, type EventInput, type EventMap, type TableOptions, type WrittenEvent } from '@outboxkit/core';
import { createMysqlDialect } from './mysql-dialect.js';
import { mysqlExecutor, type MysqlQueryable } from './mysql-driver.js';

export interface EnqueueOptions {
  /** Where the outbox tables are, when not the defaults in the connection's database. */
  tables?: TableOptions;
  /** A dialect you already created (saves resolving `tables` on every call). Give this or `tables`. */
  dialect?: Dialect;
}

// One default dialect for callers that use the default tables: creating it validates names.
let defaultDialect: Dialect | undefined;

function dialectFor(options: EnqueueOptions): Dialect {
  if (options.dialect && options.tables) {
    throw new OutboxConfigError('tables', 'give either `dialect` or `tables`, not both: the dialect already knows its tables');
  }
  if (options.dialect) return options.dialect;
  if (options.tables) return createMysqlDialect({ tables: options.tables });
  return (defaultDialect ??= createMysqlDialect());
}

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
  return writeEvents(dialectFor(options), mysqlExecutor(connection), events);
}
