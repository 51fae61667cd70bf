import {
  importDialectPackage,
  OutboxConfigError,
  type DatabaseFamily,
  type EventInput,
  type EventMap,
  type SqlExecutor,
  type WriterDialect,
  type WrittenEvent,
} from '@outboxkit/core';
import { drizzleKinds, sessionOf } from './drizzle-handles.js';

/** What each family's dialect package exports (types only: the packages are loaded lazily). */
interface DialectPackages {
  postgres: typeof import('@outboxkit/postgres');
  mysql: typeof import('@outboxkit/mysql');
  sqlite: typeof import('@outboxkit/sqlite');
}

/** How the plugin runs the dialect's statements on the connection of one Drizzle driver. */
export interface DriverAccess {
  readonly family: DatabaseFamily;
  /** The driver, for messages. */
  readonly label: string;
  /** The dialect package, loaded by {@link loadDriver}: sqlite's `openSqliteDatabase` serves the inbox. */
  readonly dialectPackage: unknown;
  /** A `SqlExecutor` on the session's driver client, inside its transaction. */
  executor(client: unknown): SqlExecutor;
  /**
   * Set for drivers whose Drizzle transactions are synchronous (better-sqlite3): writes the events
   * before returning, because the transaction commits as soon as its callback returns.
   */
  writeSync?<Events extends EventMap>(client: unknown, dialect: WriterDialect, events: EventInput<Events> | readonly EventInput<Events>[]): WrittenEvent[];
  /** Whether the client has an open transaction, for drivers that can tell without a round trip. */
  inTransaction?(client: unknown): boolean;
}

/** The first parameter of a dialect package's function: the connection type it takes. */
type ConnectionOf<Fn extends (connection: any, ...rest: any[]) => unknown> = Parameters<Fn>[0];

/**
 * The Drizzle drivers this plugin writes through, by the `entityKind` of their session class,
 * and what each holds in `session.client` inside a transaction. The executors come from the
 * dialect packages, so the events are written by exactly the code the relay and the dialects'
 * own tests use, on the very connection of the business statements:
 *
 * - node-postgres: a checked-out `pg` PoolClient (or the `pg` Client Drizzle was given); `pgExecutor`.
 * - mysql2: a mysql2 promise connection (Drizzle wraps callback clients in `.promise()`); `mysqlExecutor`.
 * - better-sqlite3: the `Database`; transactions are synchronous, so events are written with the
 *   sqlite package's synchronous `enqueueSync`, and inbox statements with `sqliteExecutor`.
 */
const DRIVERS: Readonly<
  Record<
    string,
    { readonly family: DatabaseFamily; readonly label: string; access(dialectPackage: any): Omit<DriverAccess, 'family' | 'label' | 'dialectPackage'> }
  >
> = Object.freeze({
  NodePgSession: {
    family: 'postgres',
    label: 'node-postgres (pg)',
    access: ({ pgExecutor }: DialectPackages['postgres']) => ({
      executor: (client: unknown) => pgExecutor(client as ConnectionOf<typeof pgExecutor>),
    }),
  },
  MySql2Session: {
    family: 'mysql',
    label: 'mysql2',
    access: ({ mysqlExecutor }: DialectPackages['mysql']) => ({
      executor: (client: unknown) => mysqlExecutor(client as ConnectionOf<typeof mysqlExecutor>),
    }),
  },
  BetterSQLiteSession: {
    family: 'sqlite',
    label: 'better-sqlite3',
    access: ({ sqliteExecutor, enqueueSync }: DialectPackages['sqlite']) => ({
      executor: (client: unknown) => sqliteExecutor(client as ConnectionOf<typeof sqliteExecutor>),
      writeSync: (client: unknown, dialect: WriterDialect, events: EventInput | readonly EventInput[]) =>
        enqueueSync(client as ConnectionOf<typeof enqueueSync>, events, { dialect }),
      inTransaction: (client: unknown) => (client as { inTransaction: boolean }).inTransaction,
    }),
  },
});

/** The supported drivers, for messages. */
export const SUPPORTED_DRIVERS: readonly string[] = Object.values(DRIVERS).map((driver) => driver.label);

/** Drizzle's database classes of the three SQL cores. */
const DATABASE_KINDS: ReadonlySet<string> = new Set(['PgDatabase', 'MySqlDatabase', 'BaseSQLiteDatabase']);

/**
 * Recognises the driver of a Drizzle database (`drizzle(pool)`) and loads the dialect package
 * that writes through it. Throws an {@link OutboxConfigError} naming `db` for anything else:
 * better at startup than inside the first business transaction. `what` names the caller.
 */
export async function loadDriver(db: unknown, what: string): Promise<DriverAccess> {
  const kinds = drizzleKinds(db);
  const session = sessionOf(db);
  if (session === undefined || !kinds.some((kind) => DATABASE_KINDS.has(kind))) {
    throw new OutboxConfigError(
      'db',
      `${what} expects a Drizzle database, e.g. drizzle(pool) from drizzle-orm/node-postgres (for withReplicas(...), pass the primary)`,
    );
  }
  if (kinds.some((kind) => kind.endsWith('Transaction'))) {
    throw new OutboxConfigError(
      'db',
      `${what} expects the Drizzle database itself, not a transaction: pass db, then call outbox(tx) inside db.transaction(...)`,
    );
  }
  const sessionKind = drizzleKinds(session).find((kind) => kind in DRIVERS);
  const driver = sessionKind === undefined ? undefined : DRIVERS[sessionKind];
  if (driver === undefined) {
    throw new OutboxConfigError(
      'db',
      `the Drizzle database runs on the "${drizzleKinds(session)[0] ?? 'unknown'}" driver, which @outboxkit/drizzle cannot write through; supported drivers: ${SUPPORTED_DRIVERS.join(', ')}`,
    );
  }
  const dialectPackage = await importDialectPackage(driver.family, '@outboxkit/drizzle', (specifier) => import(specifier));
  return Object.freeze({ family: driver.family, label: driver.label, dialectPackage, ...driver.access(dialectPackage) });
}
