import { createConnection } from 'node:net';
import { randomBytes } from 'node:crypto';
import { redactUrl } from '@outboxkit/core';

/** The shared services tests talk to, with the variable that overrides each default URL. */
export const SERVICES = {
  postgres: { env: 'OUTBOX_TEST_POSTGRES_URL', fallback: 'postgres://postgres@127.0.0.1:5432/test' },
  mysql: { env: 'OUTBOX_TEST_MYSQL_URL', fallback: 'mysql://root@127.0.0.1:3306/test' },
  rabbitmq: { env: 'OUTBOX_TEST_RABBITMQ_URL', fallback: 'amqp://guest:guest@127.0.0.1:5672' },
  nats: { env: 'OUTBOX_TEST_NATS_URL', fallback: 'nats://127.0.0.1:4222' },
  redis: { env: 'OUTBOX_TEST_REDIS_URL', fallback: 'redis://127.0.0.1:6379' },
} as const;

export type ServiceName = keyof typeof SERVICES;

const reachable = new Map<string, Promise<boolean>>();

/**
 * The URL of a test service: the environment variable, else the local default. It is probed
 * once per process; an unreachable service throws (it never skips), with the variable to set.
 * No Docker engine exists on CI machines, so there is no container fallback here.
 */
export async function serviceUrl(name: ServiceName): Promise<string> {
  const { env, fallback } = SERVICES[name];
  const url = process.env[env] || fallback;
  let probe = reachable.get(url);
  if (!probe) {
    probe = canConnect(url);
    reachable.set(url, probe);
  }
  if (!(await probe)) {
    throw new Error(
      `${name} is not reachable at ${redactUrl(url)}. Start it (see ../shared/ENVIRONMENT.md or docs/testing.md) ` +
        `or point ${env} at a running server.${process.env.CI === 'true' ? ' CI=true: a missing service fails the run.' : ''}`,
    );
  }
  return url;
}

function canConnect(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = createConnection({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port), timeout: 2000 });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('timeout', () => { socket.destroy(); resolve(false); });
    socket.once('error', () => resolve(false));
  });
}

/** A name unique to this test run, safe as a SQL identifier and an AMQP name: `prefix_<time>_<random>`. */
export function uniqueName(prefix = 'okt'): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
}
