import { OutboxConfigError, type Dialect } from '@outboxkit/core';

/** Prisma datasource provider -> the `Dialect.name` that writes SQL for it. */
const DIALECT_OF_PROVIDER: Readonly<Record<string, string>> = Object.freeze({
  postgresql: 'postgres',
  mysql: 'mysql',
  sqlite: 'sqlite',
});

const FACTORY_OF_DIALECT: Readonly<Record<string, string>> = Object.freeze({
  postgres: 'createPostgresDialect() from @outboxkit/postgres',
  mysql: 'createMysqlDialect() from @outboxkit/mysql',
  sqlite: 'createSqliteDialect() from @outboxkit/sqlite',
});

/**
 * Refuses a dialect that would send another database's SQL through this client: better at
 * `$extends` than as a syntax error inside the first business transaction.
 *
 * The provider is read from the client's `_activeProvider` (the schema's datasource provider;
 * internal to Prisma, present in Prisma 5 to 7). When a future Prisma hides it, the check is
 * skipped and a mismatch surfaces as a database error at the first write.
 */
export function assertDialectMatchesClient(client: unknown, dialect: Dialect): void {
  const provider = readProvider(client);
  if (provider === undefined) return;
  const expected = DIALECT_OF_PROVIDER[provider];
  if (expected === undefined) {
    throw new OutboxConfigError(
      'dialect',
      `the Prisma client's provider "${provider}" is not supported by outboxkit; supported providers: ${Object.keys(DIALECT_OF_PROVIDER).join(', ')}`,
    );
  }
  if (dialect.name !== expected) {
    throw new OutboxConfigError(
      'dialect',
      `the Prisma client's provider is "${provider}" but the dialect is "${dialect.name}"; pass ${FACTORY_OF_DIALECT[expected]}`,
    );
  }
}

function readProvider(client: unknown): string | undefined {
  if (client === null || typeof client !== 'object') return undefined;
  const provider = (client as { _activeProvider?: unknown })._activeProvider;
  return typeof provider === 'string' ? provider : undefined;
}
