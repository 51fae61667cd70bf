/** The services tests talk to, with the variable that overrides each local default URL. */
export const SERVICES = {
  postgres: { env: 'OUTBOX_TEST_POSTGRES_URL', fallback: 'postgres://postgres@127.0.0.1:5432/test' },
  mysql: { env: 'OUTBOX_TEST_MYSQL_URL', fallback: 'mysql://root@127.0.0.1:3306/test' },
  rabbitmq: { env: 'OUTBOX_TEST_RABBITMQ_URL', fallback: 'amqp://guest:guest@127.0.0.1:5672' },
  redis: { env: 'OUTBOX_TEST_REDIS_URL', fallback: 'redis://127.0.0.1:6379' },
  nats: { env: 'OUTBOX_TEST_NATS_URL', fallback: 'nats://127.0.0.1:4222' },
} as const;

export type ServiceName = keyof typeof SERVICES;

/** Every service name, in the catalog's order. */
export const SERVICE_NAMES: readonly ServiceName[] = Object.freeze(Object.keys(SERVICES) as ServiceName[]);

/**
 * Under CI a missing service fails the run and containers are not tried. `CI` counts when set
 * to anything but empty, `0` or `false` (CI systems set `true` or `1`).
 */
export function isCi(env: NodeJS.ProcessEnv): boolean {
  const value = env.CI?.trim().toLowerCase() ?? '';
  return value !== '' && value !== '0' && value !== 'false';
}
