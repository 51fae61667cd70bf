import { OutboxConfigError, OutboxError, redactUrl, type Publisher, type RelayConnector, type RelayDatabase, type RelayDatabaseOptions } from '@outboxkit/core';
import { importOptional, OPTIONAL_PACKAGES } from './optional-packages.js';

/** A database the relay can work on (dialect, pool, wake-up sources), and its URL for logs. */
export interface DatabaseTarget extends RelayDatabase {
  /** The URL without credentials, for logs. */
  readonly safeUrl: string;
}

interface DialectPackage {
  readonly packages: readonly string[];
  load(): Promise<{ relayConnector: RelayConnector }>;
}

// Each dialect package is imported only when its scheme is used: they and their drivers are
// optional peers, an application installs its own database's. Every package exports its `relayConnector`.
const POSTGRES: DialectPackage = { packages: OPTIONAL_PACKAGES.postgres, load: () => import('@outboxkit/postgres') };
const MYSQL: DialectPackage = { packages: OPTIONAL_PACKAGES.mysql, load: () => import('@outboxkit/mysql') };
const SQLITE: DialectPackage = { packages: OPTIONAL_PACKAGES.sqlite, load: () => import('@outboxkit/sqlite') };
const CONNECTORS: Record<string, DialectPackage> = {
  'postgres:': POSTGRES,
  'postgresql:': POSTGRES,
  'mysql:': MYSQL,
  'mariadb:': MYSQL,
  'sqlite:': SQLITE,
  'file:': SQLITE,
};

/** Finds the dialect package for the URL's scheme; throws a config error naming the supported ones. */
export async function relayConnectorFor(url: string): Promise<RelayConnector> {
  const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(url)?.[1]?.toLowerCase();
  if (!scheme) {
    throw new OutboxConfigError('--database-url', `${redactUrl(url)} is not a URL; expected postgres://, mysql://, mariadb://, sqlite: or file:`);
  }
  const connector = CONNECTORS[scheme];
  if (!connector) {
    throw new OutboxConfigError('--database-url', `unknown scheme "${scheme}"; supported: ${Object.keys(CONNECTORS).join(' ')}`);
  }
  const { relayConnector } = await importOptional({ flag: '--database-url', what: `a ${scheme} URL`, packages: connector.packages }, connector.load);
  // The table above and the package's own list must agree; a mismatch is a packaging bug.
  if (!relayConnector.schemes.includes(scheme)) {
    throw new OutboxError('OUTBOX_CONNECTOR_MISMATCH', `the dialect package loaded for "${scheme}" serves ${relayConnector.schemes.join(' ')} only`);
  }
  return relayConnector;
}

/** Opens the database named by `url`; the dialect follows the URL scheme. */
export async function openDatabase(url: string, options: RelayDatabaseOptions): Promise<DatabaseTarget> {
  const connector = await relayConnectorFor(url);
  return { ...(await connector.open(url, options)), safeUrl: redactUrl(url) };
}

/**
 * {@link openDatabase} for a command that opened its publisher first (so a broker flag mistake
 * fails before any connection): closes the publisher when the database cannot be opened.
 */
export async function openDatabaseAfter(publisher: Publisher | null, url: string, options: RelayDatabaseOptions): Promise<DatabaseTarget> {
  try {
    return await openDatabase(url, options);
  } catch (error) {
    await publisher?.close();
    throw error;
  }
}
