import {
  assertDialectFamily,
  checkKnownOptions,
  OutboxTransactionRequiredError,
  requireWriterDialect,
  writeEvents,
  type EventInput,
  type EventMap,
  type WriterDialect,
  type WrittenEvent,
} from '@outboxkit/core';
import type { MySqlDatabase, MySqlTransaction } from 'drizzle-orm/mysql-core';
import type { PgDatabase, PgTransaction } from 'drizzle-orm/pg-core';
import type { BaseSQLiteDatabase, SQLiteTransaction } from 'drizzle-orm/sqlite-core';
import { commitTrackerOf } from './commit-tracker.js';
import { isDrizzleTransaction, sessionOf } from './drizzle-handles.js';
import { loadDriver } from './drivers.js';

/** A Drizzle database this plugin writes through: node-postgres, mysql2 or better-sqlite3. */
export type DrizzleDatabase = PgDatabase<any, any, any> | MySqlDatabase<any, any, any, any> | BaseSQLiteDatabase<'sync', any, any, any>;

/** Events, one or several, written in order. */
export type EventsInput<Events extends EventMap = EventMap> = EventInput<Events> | readonly EventInput<Events>[];

/** `outbox(tx)`: writes events in the transaction `tx`. `Written` follows the transaction's mode. */
export interface OutboxWriter<Events extends EventMap, Written> {
  /**
   * Writes the events in this transaction, in order, so they commit or roll back with the
   * business change; every event is validated before anything is written. Resolves (on
   * better-sqlite3: returns) the written events with the sequence each got.
   */
  add(events: EventsInput<Events>): Written;
}

/**
 * What {@link drizzleOutbox} returns: `outbox(tx)` on the `tx` of `db.transaction(...)`.
 * On node-postgres and mysql2 `add` returns a Promise; on better-sqlite3, whose Drizzle
 * transactions are synchronous, it writes before it returns and returns the events themselves.
 * Anything but an open transaction of the database is refused with
 * `OutboxTransactionRequiredError` (at compile time too, for the database itself).
 */
export interface DrizzleOutbox<Events extends EventMap = EventMap> {
  (tx: SQLiteTransaction<'sync', any, any, any>): OutboxWriter<Events, WrittenEvent[]>;
  (tx: PgTransaction<any, any, any> | MySqlTransaction<any, any, any, any>): OutboxWriter<Events, Promise<WrittenEvent[]>>;
  readonly dialect: WriterDialect;
}

export interface DrizzleOutboxOptions {
  /**
   * The outbox dialect of the database Drizzle is connected to, with the same table options the
   * relay uses. It must match the driver (checked here).
   * @example createPostgresDialect({ tables: { schema: 'app' } })
   */
  dialect: WriterDialect;
}

const USAGE =
  'call it with the tx of db.transaction, e.g.\n' +
  '  await db.transaction(async (tx) => {\n' +
  '    await tx.insert(orders).values(order);\n' +
  "    await outbox(tx).add({ aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload });\n" +
  '  });\n' +
  'Without it the event would be written in auto-commit mode, apart from the change: the dual write the outbox exists to prevent.';

/**
 * Binds outboxkit to a Drizzle database. Resolves once the dialect package of the driver is
 * loaded, so a missing package or a dialect for another database fails here, at startup.
 * Wraps `db.transaction` (on `db` itself) to wake relays in this process after each commit
 * that wrote events.
 *
 * @example
 * type Events = { OrderPlaced: { total: number } };
 * const db = drizzle(pool);
 * const outbox = await drizzleOutbox<Events>(db, { dialect: createPostgresDialect() });
 * await db.transaction(async (tx) => {
 *   await tx.insert(orders).values({ id: 'o-1', total: 5 });
 *   await outbox(tx).add({ aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { total: 5 } });
 * });
 */
export async function drizzleOutbox<Events extends EventMap = EventMap>(db: DrizzleDatabase, options: DrizzleOutboxOptions): Promise<DrizzleOutbox<Events>> {
  checkKnownOptions(options, ['dialect']);
  const dialect = requireWriterDialect(options.dialect);
  const driver = await loadDriver(db, 'drizzleOutbox');
  assertDialectFamily(dialect, driver.family, `the Drizzle database runs on ${driver.label}`);
  const commits = commitTrackerOf(db);

  function outbox(tx: unknown): OutboxWriter<Events, WrittenEvent[] | Promise<WrittenEvent[]>> {
    if (!isDrizzleTransaction(tx)) {
      const what = sessionOf(tx) === undefined ? 'not a Drizzle transaction' : 'the Drizzle database, not a transaction';
      throw new OutboxTransactionRequiredError(`outbox(tx): the handle is ${what}; ${USAGE}`);
    }
    const session = tx.session;
    if (!commits.isOpen(session) || driver.inTransaction?.(session.client) === false) {
      throw new OutboxTransactionRequiredError(
        'outbox(tx): the transaction is not open: it has already committed or rolled back, or it belongs to another Drizzle ' +
          `database than the one given to drizzleOutbox. Write events inside the callback of that database's transaction; ${USAGE}`,
      );
    }
    return {
      add(events) {
        if (driver.writeSync) {
          const written = driver.writeSync(session.client, dialect, events);
          commits.wrote(session);
          return written;
        }
        return writeEvents<Events>(dialect, driver.executor(session.client), events, { transactionChecked: true }).then((written) => {
          commits.wrote(session);
          return written;
        });
      },
    };
  }
  return Object.assign(outbox, { dialect }) as unknown as DrizzleOutbox<Events>;
}
