import { OutboxConfigError, OutboxTransactionRequiredError, type DatabaseFamily } from '@outboxkit/core';
import type { Knex } from 'knex';

/** knex's client name for the raw driver it runs on (`client.driverName`) -> the database family whose dialect writes its SQL. */
const FAMILY_OF_DRIVER: Readonly<Record<string, DatabaseFamily>> = Object.freeze({
  pg: 'postgres',
  mysql2: 'mysql',
  'better-sqlite3': 'sqlite',
});

/** The part of knex's (untyped) client this plugin reads. */
interface KnexClientInternals {
  readonly driverName?: string;
  readonly config?: object;
  /** True on the client of a transaction; its `acquireConnection()` resolves to that transaction's connection. */
  readonly transacting?: boolean;
  acquireConnection(): Promise<unknown>;
}

/** What `outbox.add` takes: the handle `knex.transaction(...)` gives, or a nested one (`trx.transaction(...)`). */
export type KnexTransaction = Knex.Transaction;

const USAGE =
  'pass the transaction handle the business change runs in, e.g.\n' +
  '  await knex.transaction(async (trx) => {\n' +
  "    await trx('orders').insert(order);\n" +
  "    await outbox.add(trx, { aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload });\n" +
  '  });\n' +
  '(or const trx = await knex.transaction(); ... await trx.commit()). ' +
  'Without it the event would be written in auto-commit mode, apart from the change: the dual write the outbox exists to prevent.';

/**
 * The database family of a knex instance's driver. Throws an `OutboxConfigError` for anything
 * that is not a knex instance, and for drivers outboxkit has no executor for.
 */
export function familyOf(knex: Knex): { readonly family: DatabaseFamily; readonly driver: string } {
  const client = (typeof knex === 'function' || (typeof knex === 'object' && knex !== null) ? (knex as { client?: unknown }).client : undefined) as
    | Partial<KnexClientInternals>
    | undefined;
  if (client === undefined || typeof client.acquireConnection !== 'function') {
    throw new OutboxConfigError('knex', "expected a knex instance (knex({ client: 'pg', connection }))");
  }
  const driver = String(client.driverName);
  const family = FAMILY_OF_DRIVER[driver];
  if (family === undefined) {
    throw new OutboxConfigError(
      'knex',
      `knex client "${driver}" is not supported: outboxkit supports ${Object.keys(FAMILY_OF_DRIVER)
        .map((name) => `'${name}'`)
        .join(', ')} ` + '(PostgreSQL, MySQL and MariaDB through mysql2, SQLite through better-sqlite3)',
    );
  }
  return Object.freeze({ family, driver });
}

/**
 * `trx` after checking it is an open transaction of `knex`; throws
 * {@link OutboxTransactionRequiredError} otherwise (the base knex instance, a transaction
 * provider, a finished transaction, a transaction of another knex instance).
 */
export function requireOpenTransaction(knex: Knex, trx: unknown, what: string): KnexTransaction {
  if (typeof trx === 'function' && (trx as Partial<Knex>).isTransaction !== true && (trx as { client?: unknown }).client === undefined) {
    throw new OutboxTransactionRequiredError(`${what} was called with a transaction provider; call it and pass the transaction it resolves to. ${USAGE}`);
  }
  const candidate = trx as Partial<Knex.Transaction> | null | undefined;
  if (candidate === null || candidate === undefined || candidate.isTransaction !== true) {
    const kind = (trx as unknown) === knex ? 'the base knex instance, which runs every statement in auto-commit mode' : 'no knex transaction';
    throw new OutboxTransactionRequiredError(`${what} was called with ${kind}: ${USAGE}`);
  }
  if ((candidate.client as KnexClientInternals).config !== (knex.client as KnexClientInternals).config) {
    throw new OutboxTransactionRequiredError(
      `${what}: the transaction belongs to another knex instance (another connection pool), so the event could not commit with it. ` +
        'Pass a transaction of the knex instance given to createKnexOutbox.',
    );
  }
  // isCompleted() is true for a finished transaction and for one whose outer transaction finished.
  if (candidate.isCompleted?.() !== false) {
    throw new OutboxTransactionRequiredError(
      `${what}: the transaction has already committed or rolled back; an event written now would not be part of it. ${USAGE}`,
    );
  }
  return candidate as Knex.Transaction;
}

/** The outermost transaction: the one that really commits. Savepoints point to their outer transaction. */
export function rootOf(trx: KnexTransaction): KnexTransaction {
  let root = trx;
  while (root.parentTransaction) root = root.parentTransaction;
  return root;
}

/** The raw driver connection a transaction (and every savepoint in it) runs on. */
export function connectionOf(trx: KnexTransaction): Promise<unknown> {
  return (trx.client as KnexClientInternals).acquireConnection();
}
