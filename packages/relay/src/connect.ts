import { OutboxConfigError, redactUrl, type Dialect, type SqlDatabase, type TableOptions, type WakeSource } from '@outboxkit/core';

/** A database the relay can work on: its dialect, a pool, and wake-up sources it offers. */
export interface DatabaseTarget {
  readonly dialect: Dialect;
  readonly database: SqlDatabase;
  /** Cross-process wake-ups the database offers (PostgreSQL LISTEN); empty elsewhere. */
  readonly wakeSources: readonly WakeSource[];
  /** The URL without credentials, for logs. */
  readonly safeUrl: string;
}

export interface OpenOptions {
  tables: TableOptions;
  /** Open a LISTEN connection where the database supports it (only `run` needs one). */
  listen?: boolean;
  /** Where a lost wake-up connection is reported (the relay keeps polling meanwhile). */
  warn?: (message: string, details: object) => void;
}

/** What each database module under ./databases provides. */
export interface DatabaseModule {
  /** The dialect for `url`, without any I/O (enough for `migrate --print`). */
  dialect(url: string, options: OpenOptions): Dialect;
  /** Connects: a pool for the relay and the wake-up sources the database offers. */
  open(url: string, dialect: Dialect, options: OpenOptions): Promise<Pick<DatabaseTarget, 'database' | 'wakeSources'>>;
}

// Each database module is imported only when its scheme is used, so the relay never loads
// drivers it does not need.
const MODULES: Record<string, () => Promise<DatabaseModule>> = {
  'postgres:': () => import('./databases/postgres.js'),
  'postgresql:': () => import('./databases/postgres.js'),
  'mysql:': () => import('./databases/mysql.js'),
  'mariadb:': () => import('./databases/mysql.js'),
  'sqlite:': () => import('./databases/sqlite.js'),
  'file:': () => import('./databases/sqlite.js'),
};

/** Finds the database module for the URL's scheme; throws a config error naming the supported ones. */
export async function databaseModule(url: string): Promise<DatabaseModule> {
  const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(url)?.[1]?.toLowerCase();
  if (!scheme) {
    throw new OutboxConfigError('--database-url', `${redactUrl(url)} is not a URL; expected postgres://, mysql://, mariadb://, sqlite: or file:`);
  }
  const load = MODULES[scheme];
  if (!load) {
    throw new OutboxConfigError('--database-url', `unknown scheme "${scheme}"; supported: ${Object.keys(MODULES).join(' ')}`);
  }
  return load();
}

/** Opens the database named by `url`; the dialect follows the URL scheme. */
export async function openDatabase(url: string, options: OpenOptions): Promise<DatabaseTarget> {
  const module = await databaseModule(url);
  const dialect = module.dialect(url, options);
  const opened = await module.open(url, dialect, options);
  return { dialect, ...opened, safeUrl: redactUrl(url) };
}
