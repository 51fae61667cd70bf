import {
  allOrNothingSync,
  OutboxTransactionRequiredError,
  cachedDialect,
  createEnvelopes,
  enqueueDialect,
  withMigrateHint,
  writeEvents,
  type EventInput,
  type EventMap,
  type SqlExecutor,
  type WriterDialect,
  type WrittenEvent,
} from '@outboxkit/core';
import { createSqliteDialect, isNoSuchTable } from './sqlite-dialect.js';
import { runStatement, sqliteExecutor, type SqliteConnection } from './sqlite-driver.js';
import type { SqliteDialectOptions } from './sqlite-options.js';
import { insertEventParams, sqliteStatements } from './sqlite-sql.js';

/** Where to write: a dialect you created once (preferred), or the options to create one. */
export interface EnqueueOptions extends SqliteDialectOptions {
  /**
   * The dialect to write with, e.g. the one your relay uses. Pass this OR `tables`.
   * @example { dialect: createSqliteDialect({ tables: { prefix: 'shop_outbox_' } }) }
   */
  dialect?: WriterDialect;
}

const dialectFor = cachedDialect(createSqliteDialect);

function isConnection(db: SqliteConnection | SqlExecutor): db is SqliteConnection {
  return typeof (db as Partial<SqliteConnection>).prepare === 'function';
}

/**
 * Writes events inside the transaction open on `db`, for code with no ORM. `db` is a
 * better-sqlite3 `Database` on which you ran `BEGIN` (or the `tx` of `openSqliteDatabase`'s
 * `transaction()`). All events are validated before anything is written; with no open
 * transaction it throws `OutboxTransactionRequiredError` and writes nothing.
 *
 * better-sqlite3's own `db.transaction(fn)` needs a synchronous `fn`: use {@link enqueueSync} there.
 *
 * @example
 * db.exec('BEGIN IMMEDIATE');
 * try {
 *   db.prepare('INSERT INTO orders (id, total) VALUES (?, ?)').run('o-1', 5);
 *   await enqueue(db, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { total: 5 } });
 *   db.exec('COMMIT');
 * } catch (error) {
 *   if (db.inTransaction) db.exec('ROLLBACK');
 *   throw error;
 * }
 */
export function enqueue<Events extends EventMap = EventMap>(
  db: SqliteConnection | SqlExecutor,
  events: EventInput<Events> | readonly EventInput<Events>[],
  options: EnqueueOptions = {},
): Promise<WrittenEvent[]> {
  const exec = isConnection(db) ? sqliteExecutor(db) : db;
  return writeEvents(enqueueDialect(options, dialectFor), exec, events);
}

/**
 * The synchronous {@link enqueue}, for better-sqlite3's `db.transaction(fn)` whose `fn` must not
 * be async. Same validation, same statements, same refusal outside a transaction.
 *
 * @example
 * const placeOrder = db.transaction((order: { id: string; total: number }) => {
 *   db.prepare('INSERT INTO orders (id, total) VALUES (?, ?)').run(order.id, order.total);
 *   enqueueSync(db, { aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload: order });
 * });
 * placeOrder({ id: 'o-1', total: 5 });
 */
export function enqueueSync<Events extends EventMap = EventMap>(
  db: SqliteConnection,
  events: EventInput<Events> | readonly EventInput<Events>[],
  options: EnqueueOptions = {},
): WrittenEvent[] {
  const envelopes = createEnvelopes(events);
  if (envelopes.length === 0) return [];
  if (!db.inTransaction) {
    throw new OutboxTransactionRequiredError(
      'enqueueSync must run inside the business transaction: call it inside db.transaction(() => ...) or after ' +
        "db.exec('BEGIN'), so the event commits or rolls back with the change",
    );
  }
  const { tables } = enqueueDialect(options, dialectFor);
  const sql = sqliteStatements(tables);
  try {
    // All or nothing, like the async write: a failed statement undoes the whole write.
    return allOrNothingSync(
      (statement) => runStatement(db, statement, []),
      sql.writeSavepoint,
      () =>
        envelopes.map((envelope) => {
          const sequence = runStatement<{ last_sequence: number }>(db, sql.nextSequence, [envelope.aggregateType, envelope.aggregateId]).rows[0]!.last_sequence;
          runStatement(db, sql.insertEvent, insertEventParams(envelope, sequence));
          return { ...envelope, sequence };
        }),
    );
  } catch (error) {
    throw withMigrateHint(error, tables, isNoSuchTable);
  }
}
