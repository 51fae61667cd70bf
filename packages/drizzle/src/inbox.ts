import { OutboxConfigError, type InboxDatabase, type SqlDatabase } from '@outboxkit/core';
import { commitTrackerOf, type CommitTracker } from './commit-tracker.js';
import type { DrizzleDatabase } from './drizzle-outbox.js';
import { sessionOf, type DrizzleSession } from './drizzle-handles.js';
import { loadDriver, type DriverAccess } from './drivers.js';

/** The `tx` that `db.transaction` hands its callback. */
export type DrizzleTransactionOf<Db> = Db extends { transaction(fn: (tx: infer Tx) => any, ...rest: any[]): any } ? Tx : never;

/** The inbox seam for `createInboxConsumer`, and `close()` for what it opened itself. */
export interface DrizzleInbox<Tx> extends InboxDatabase<Tx> {
  /** Closes the inbox's own SQLite connection (better-sqlite3); nothing to do on the other drivers. */
  close(): Promise<void>;
}

/**
 * The inbox seam for `createInboxConsumer` on Drizzle: every delivery runs in one Drizzle
 * transaction, the inbox row is written on its connection, and the handler receives the `tx`, so
 * its writes commit or roll back with the inbox row; `outbox(tx).add(...)` works in the handler
 * too. Pass the dialect of the database to the consumer (`createPostgresDialect()`, ...).
 *
 * node-postgres and mysql2: `db.transaction(fn, transactionConfig)`.
 *
 * better-sqlite3: Drizzle's transactions there are synchronous and cannot await a handler, so
 * the inbox opens a connection of its own to the same file (`openSqliteDatabase` of
 * `@outboxkit/sqlite`: WAL, BEGIN IMMEDIATE, busy waits without blocking the thread) and runs
 * one delivery at a time on it, handing the handler a Drizzle transaction on that connection:
 * no other code shares it, so nothing else can slip into the open transaction while the handler
 * awaits. In-memory databases are refused (a second connection would see another database).
 * Call `close()` after the consumer's.
 *
 * @example
 * const consumer = createInboxConsumer({
 *   connection: 'amqp://guest:guest@localhost:5672',
 *   queue: 'billing.orders',
 *   consumer: 'billing.invoices',
 *   db: await drizzleInbox(db),
 *   dialect: createPostgresDialect(),
 *   handler: async (event, tx) => {
 *     await tx.insert(invoices).values({ orderId: event.aggregateId });
 *   },
 * });
 */
export async function drizzleInbox<Db extends DrizzleDatabase>(db: Db, transactionConfig?: unknown): Promise<DrizzleInbox<DrizzleTransactionOf<Db>>> {
  type Tx = DrizzleTransactionOf<Db>;
  const driver = await loadDriver(db, 'drizzleInbox');
  const commits = commitTrackerOf(db);
  const executor = (tx: Tx) => driver.executor(sessionOf(tx)!.client);
  if (driver.writeSync === undefined) {
    const transactional = db as unknown as { transaction<T>(fn: (tx: Tx) => Promise<T>, config?: unknown): Promise<T> };
    return Object.freeze({
      transaction: <T>(fn: (tx: Tx) => Promise<T>): Promise<T> => transactional.transaction(fn, transactionConfig),
      executor,
      close: async () => undefined,
    });
  }
  if (transactionConfig !== undefined) {
    throw new OutboxConfigError('transactionConfig', 'is not supported on better-sqlite3: the inbox begins its transactions IMMEDIATE on its own connection');
  }
  return sqliteInbox<Tx>(db, driver, commits, executor);
}

/** The Drizzle pieces of `drizzle-orm/better-sqlite3` the SQLite inbox builds its transactions from. */
interface BetterSqliteModule {
  BetterSQLiteSession: new (client: unknown, dialect: unknown, schema: unknown, options: unknown) => DrizzleSession;
  BetterSQLiteTransaction: new (mode: 'sync', dialect: unknown, session: DrizzleSession, schema: unknown) => object;
}

async function sqliteInbox<Tx>(
  db: DrizzleDatabase,
  driver: DriverAccess,
  commits: CommitTracker,
  executor: (tx: Tx) => ReturnType<DriverAccess['executor']>,
): Promise<DrizzleInbox<Tx>> {
  const client = sessionOf(db)!.client as { name: string; memory: boolean };
  if (client.memory) {
    throw new OutboxConfigError(
      'db',
      'drizzleInbox cannot serve an in-memory better-sqlite3 database: its own connection would open another, empty database; use a file',
    );
  }
  const { openSqliteDatabase } = driver.dialectPackage as typeof import('@outboxkit/sqlite');
  // Imported only here: it loads better-sqlite3, which the other drivers' applications lack.
  const drizzleSqlite = (await import('drizzle-orm/better-sqlite3')) as unknown as BetterSqliteModule;
  const internals = db as unknown as { dialect: unknown; session: { schema?: unknown; logger?: unknown } };
  const database: SqlDatabase = openSqliteDatabase(client.name);
  let session: DrizzleSession | undefined;
  return Object.freeze({
    transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T> {
      let opened: DrizzleSession | undefined;
      return commits.track(
        () => opened,
        () =>
          database.transaction((exec) => {
            // The same connection for every delivery: one Drizzle session on it, a new transaction object each time.
            session ??= new drizzleSqlite.BetterSQLiteSession(
              (exec as unknown as { connection: unknown }).connection,
              internals.dialect,
              internals.session.schema,
              {
                logger: internals.session.logger,
              },
            );
            opened = session;
            commits.opened(session);
            return fn(new drizzleSqlite.BetterSQLiteTransaction('sync', internals.dialect, session, internals.session.schema) as Tx);
          }),
      );
    },
    executor,
    close: () => database.close(),
  });
}
