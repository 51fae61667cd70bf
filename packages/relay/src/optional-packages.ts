import { OutboxConfigError } from '@outboxkit/core';

/**
 * What each database and broker needs installed next to `@outboxkit/relay`: its outboxkit
 * package and the driver that package runs on. They are optional peer dependencies of the relay,
 * so an application installs only its own (`npm install @outboxkit/relay @outboxkit/postgres pg
 * @outboxkit/rabbitmq rabbitmq-client`) and the relay shares the application's driver.
 */
export const OPTIONAL_PACKAGES = Object.freeze({
  postgres: ['@outboxkit/postgres', 'pg'],
  mysql: ['@outboxkit/mysql', 'mysql2'],
  sqlite: ['@outboxkit/sqlite', 'better-sqlite3'],
  rabbitmq: ['@outboxkit/rabbitmq', 'rabbitmq-client'],
  nats: ['@outboxkit/nats', '@nats-io/jetstream', '@nats-io/transport-node'],
  redis: ['@outboxkit/redis', 'redis'],
  // One package for both services: its publishers and consumer import both clients.
  aws: ['@outboxkit/sqs', '@aws-sdk/client-sqs', '@aws-sdk/client-sns'],
  pubsub: ['@outboxkit/pubsub', '@google-cloud/pubsub'],
} as const satisfies Record<string, readonly string[]>);

/** What one flag value needs: e.g. `--database-url` `postgres://` needs {@link OPTIONAL_PACKAGES}.postgres. */
export interface OptionalNeed {
  /** The flag whose value chose the package, named in the error. */
  readonly flag: string;
  /** What was asked for, e.g. `postgres://`. */
  readonly what: string;
  readonly packages: readonly string[];
}

/**
 * Runs `load` (a dynamic import written at the call site, so it resolves from the relay's own
 * location) and turns "cannot find package" for one of `need.packages` into a configuration
 * error that says exactly what to install. Other failures (a native module built for another
 * Node version, a missing transitive dependency) are left as they are: installing these
 * packages would not fix them.
 */
export async function importOptional<T>(need: OptionalNeed, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = missingPackage(error, need.packages);
    if (missing === undefined) throw error;
    throw new OutboxConfigError(
      need.flag,
      `${need.what} needs ${need.packages.join(' and ')} installed next to @outboxkit/relay (${missing} is missing): npm install ${need.packages.join(' ')}`,
      { cause: error },
    );
  }
}

/** The package of `packages` Node could not find, from its ERR_MODULE_NOT_FOUND message. */
function missingPackage(error: unknown, packages: readonly string[]): string | undefined {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (code !== 'ERR_MODULE_NOT_FOUND' || typeof message !== 'string') return undefined;
  return packages.find((name) => message.includes(`Cannot find package '${name}'`));
}
