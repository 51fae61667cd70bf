import { OutboxConfigError, OutboxError, redactUrl, type RelayConnector, type RelayDatabase, type RelayDatabaseOptions } from '@outboxkit/core';

/** A database the relay can work on (dialect, pool, wake-up sources), and its URL for logs. */
export interface DatabaseTarget extends RelayDatabase {
  /** The URL without credentials, for logs. */
  readonly safeUrl: string;
}

// Each dialect package is imported only when its scheme is used, so the relay never loads
// drivers it does not need. Every package exports its `relayConnector`.
const CONNECTORS: Record<string, () => Promise<{ relayConnector: RelayConnector }>> = {
  'postgres:': () => import('@outboxkit/postgres'),
  'postgresql:': () => import('@outboxkit/postgres'),
  'mysql:': () => import('@outboxkit/mysql'),
  'mariadb:': () => import('@outboxkit/mysql'),
  'sqlite:': () => import('@outboxkit/sqlite'),
  'file:': () => import('@outboxkit/sqlite'),
};

/** Finds the dialect package for the URL's scheme; throws a config error naming the supported ones. */
export async function relayConnectorFor(url: string): Promise<RelayConnector> {
  const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(url)?.[1]?.toLowerCase();
  if (!scheme) {
    throw new OutboxConfigError('--database-url', `${redactUrl(url)} is not a URL; expected postgres://, mysql://, mariadb://, sqlite: or file:`);
  }
  const load = CONNECTORS[scheme];
  if (!load) {
    throw new OutboxConfigError('--database-url', `unknown scheme "${scheme}"; supported: ${Object.keys(CONNECTORS).join(' ')}`);
  }
  const { relayConnector } = await load();
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
