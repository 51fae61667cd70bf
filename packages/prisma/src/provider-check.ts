import { assertDialectFamily, OutboxConfigError, type DatabaseFamily, type WriterDialect } from '@outboxkit/core';

/** Prisma datasource provider -> the database family whose dialect writes SQL for it. */
const FAMILY_OF_PROVIDER: Readonly<Record<string, DatabaseFamily>> = Object.freeze({
  postgresql: 'postgres',
  mysql: 'mysql',
  sqlite: 'sqlite',
});

/**
 * Refuses a dialect that would send another database's SQL through this client: better at
 * `$extends` than as a syntax error inside the first business transaction.
 *
 * When a future Prisma hides the provider (see {@link providerOf}), the check is skipped and a
 * mismatch surfaces as a database error at the first write.
 */
export function assertDialectMatchesClient(client: unknown, dialect: WriterDialect): void {
  const provider = providerOf(client);
  if (provider === undefined) return;
  const family = FAMILY_OF_PROVIDER[provider];
  if (family === undefined) {
    throw new OutboxConfigError(
      'dialect',
      `the Prisma client's provider "${provider}" is not supported by outboxkit; supported providers: ${Object.keys(FAMILY_OF_PROVIDER).join(', ')}`,
    );
  }
  assertDialectFamily(dialect, family, `the Prisma client's provider is "${provider}"`);
}

/**
 * The schema's datasource provider (`postgresql`, `mysql`, `sqlite`), read from the client's
 * `_activeProvider`: internal to Prisma, present in Prisma 5 to 7 on the base client and on
 * interactive-transaction clients alike. Undefined when absent.
 */
export function providerOf(client: unknown): string | undefined {
  if (client === null || (typeof client !== 'object' && typeof client !== 'function')) return undefined;
  const provider = (client as { _activeProvider?: unknown })._activeProvider;
  return typeof provider === 'string' ? provider : undefined;
}
