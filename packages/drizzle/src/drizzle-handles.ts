import { entityKind } from 'drizzle-orm';

/**
 * What this plugin reads of a Drizzle database or transaction. Drizzle keeps the session (and
 * the session its driver client) on plain properties that its own query builders use; they are
 * marked internal in its types, so they are typed here structurally.
 */
export interface DrizzleHandle {
  readonly session: DrizzleSession;
}

/** A Drizzle session: one per database, and one per top-level transaction on a pool. */
export interface DrizzleSession {
  /** The driver's client: a `pg` Pool/PoolClient/Client, a mysql2 promise Pool/Connection, a better-sqlite3 Database. */
  readonly client: unknown;
}

/**
 * The Drizzle class names (`entityKind`) of `value`'s class and its ancestors. Drizzle tells its
 * classes apart by this name rather than by `instanceof`, so two copies of drizzle-orm in one
 * process still recognise each other's objects; so does this plugin, without importing any
 * driver module (`drizzle-orm/node-postgres` imports `pg`, which a MySQL application lacks).
 */
export function drizzleKinds(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return [];
  const kinds: string[] = [];
  for (let cls = Object.getPrototypeOf(value)?.constructor; typeof cls === 'function'; cls = Object.getPrototypeOf(cls)) {
    const kind = (cls as { [entityKind]?: unknown })[entityKind];
    if (typeof kind === 'string') kinds.push(kind);
  }
  return kinds;
}

/** The transaction classes of Drizzle's three SQL cores; savepoint (nested) transactions are instances too. */
const TRANSACTION_KINDS: ReadonlySet<string> = new Set(['PgTransaction', 'MySqlTransaction', 'SQLiteTransaction']);

/** True for the `tx` of `db.transaction((tx) => ...)`, nested ones included. */
export function isDrizzleTransaction(value: unknown): value is DrizzleHandle {
  return drizzleKinds(value).some((kind) => TRANSACTION_KINDS.has(kind)) && sessionOf(value) !== undefined;
}

/** The session of a Drizzle database or transaction, or undefined for anything else. */
export function sessionOf(value: unknown): DrizzleSession | undefined {
  const session = (value as Partial<DrizzleHandle> | null | undefined)?.session;
  return session !== null && typeof session === 'object' && 'client' in session ? session : undefined;
}
