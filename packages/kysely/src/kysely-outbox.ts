import {
  assertDialectFamily,
  checkKnownOptions,
  OutboxConfigError,
  OutboxTransactionRequiredError,
  requireWriterDialect,
  writeEvents,
  type EventInput,
  type EventMap,
  type WriterDialect,
  type WrittenEvent,
} from '@outboxkit/core';
import type { Kysely, Transaction } from 'kysely';
import { familyOf, openTransactionOf } from './commit-signal.js';
import { connectionExecutor } from './kysely-executor.js';

/** Events, one or several, written in order. */
export type EventsInput<Events extends EventMap = EventMap> = EventInput<Events> | readonly EventInput<Events>[];

/** `outbox(trx)`: writes events in the transaction `trx`. */
export interface OutboxWriter<Events extends EventMap = EventMap> {
  /**
   * Writes the events in this transaction, in order, on its connection, so they commit or roll
   * back with the business change; every event is validated before anything is written.
   * Resolves to the written events with the sequence each got.
   */
  add(events: EventsInput<Events>): Promise<WrittenEvent[]>;
}

/** What {@link kyselyOutbox} returns: `outbox(trx)` on the `trx` of `db.transaction().execute(...)` or `db.startTransaction()`. */
export interface KyselyOutbox<Events extends EventMap = EventMap> {
  (trx: Transaction<any>): OutboxWriter<Events>;
  readonly dialect: WriterDialect;
}

export interface KyselyOutboxOptions {
  /**
   * The outbox dialect of the database Kysely is connected to, with the same table options the
   * relay uses. It must match Kysely's dialect (checked here).
   * @example createPostgresDialect({ tables: { schema: 'app' } })
   */
  dialect: WriterDialect;
}

const USAGE =
  'call it with the trx of a Kysely transaction, e.g.\n' +
  '  await db.transaction().execute(async (trx) => {\n' +
  "    await trx.insertInto('orders').values(order).execute();\n" +
  "    await outbox(trx).add({ aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload });\n" +
  '  });\n' +
  'Without it the event would be written in auto-commit mode, apart from the change: the dual write the outbox exists to prevent.';

const LABEL = { postgres: 'PostgreSQL', mysql: 'MySQL/MariaDB', sqlite: 'SQLite' } as const;

/**
 * Binds outboxkit to a Kysely instance created on a {@link withOutbox} dialect. The outbox
 * dialect is checked against Kysely's (an `OutboxConfigError` naming `dialect` otherwise).
 *
 * @example
 * type Events = { OrderPlaced: { total: number } };
 * const db = new Kysely<DB>({ dialect: withOutbox(new PostgresDialect({ pool })) });
 * const outbox = kyselyOutbox<Events>(db, { dialect: createPostgresDialect() });
 * await db.transaction().execute(async (trx) => {
 *   await trx.insertInto('orders').values({ id: 'o-1', total: 5 }).execute();
 *   await outbox(trx).add({ aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { total: 5 } });
 * });
 */
export function kyselyOutbox<Events extends EventMap = EventMap>(db: Kysely<any>, options: KyselyOutboxOptions): KyselyOutbox<Events> {
  checkKnownOptions(options, ['dialect']);
  const dialect = requireWriterDialect(options.dialect);
  if (db === null || typeof db !== 'object' || typeof (db as Partial<Kysely<any>>).getExecutor !== 'function') {
    throw new OutboxConfigError('db', 'kyselyOutbox expects a Kysely instance (new Kysely({ dialect: withOutbox(...) }))');
  }
  if (db.isTransaction) {
    throw new OutboxConfigError(
      'db',
      'kyselyOutbox expects the Kysely instance itself, not a transaction: pass db, then call outbox(trx) inside its transactions',
    );
  }
  const { adapter } = db.getExecutor();
  const family = familyOf(adapter);
  if (family === undefined) {
    throw new OutboxConfigError(
      'db',
      'the Kysely instance was not created on a withOutbox(...) dialect, so outboxkit cannot see its commits: ' +
        'new Kysely({ dialect: withOutbox(new PostgresDialect({ pool })) })',
    );
  }
  assertDialectFamily(dialect, family, `the Kysely instance runs on ${LABEL[family]}`);

  function outbox(trx: Transaction<any>): OutboxWriter<Events> {
    if (trx === null || typeof trx !== 'object' || typeof (trx as Partial<Transaction<any>>).getExecutor !== 'function') {
      throw new OutboxTransactionRequiredError(`outbox(trx): the handle is not a Kysely transaction; ${USAGE}`);
    }
    if (!trx.isTransaction) throw new OutboxTransactionRequiredError(`outbox(trx): the handle is the Kysely instance, not a transaction; ${USAGE}`);
    if (trx.getExecutor().adapter !== adapter) {
      throw new OutboxTransactionRequiredError(
        'outbox(trx): the transaction belongs to another Kysely instance (another database) than the one given to kyselyOutbox, so the event could not commit with it',
      );
    }
    return {
      // One connection turn for the whole write: the sequence upsert and the insert of each
      // event stay adjacent, whatever else the caller runs on trx concurrently. Async, so that
      // Kysely's own refusal of a finished transaction (thrown at once) is a rejection too.
      add: async (events) =>
        trx.getExecutor().provideConnection(async (connection) => {
          const transaction = openTransactionOf(connection);
          if (transaction === undefined) throw new OutboxTransactionRequiredError(`outbox(trx): the connection has no open transaction; ${USAGE}`);
          const written = await writeEvents<Events>(dialect, connectionExecutor(connection), events, { transactionChecked: true });
          transaction.wroteEvents = true;
          return written;
        }),
    };
  }
  return Object.freeze(Object.assign(outbox, { dialect }));
}
