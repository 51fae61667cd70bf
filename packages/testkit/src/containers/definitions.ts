import { SERVICES, type ServiceName } from '../service-catalog.js';

/**
 * How one test service runs in a container, as plain data: what testcontainers is told to
 * start, and how the started container's address becomes the URL tests get. Nothing here needs
 * a container runtime, so the mapping is checked on machines that have none.
 */
export interface ServiceContainer {
  /** Image and tag: the same release line as the servers this project is tested against. */
  readonly image: string;
  /** The port the server listens on inside the container (published on a random host port). */
  readonly port: number;
  /** Environment of the container: the credentials and database the URL names. */
  readonly environment: Readonly<Record<string, string>>;
  /** Command line, when the image's default is not the one wanted. */
  readonly command?: readonly string[];
  /**
   * Ready once this line has been logged `times` times (images that initialise a data
   * directory run a temporary server first, which logs it too) and the port is listening.
   */
  readonly ready: { readonly log: RegExp; readonly times: number };
  /** The URL handed to tests, from the started container's host and published port. */
  url(host: string, publishedPort: number): string;
}

/**
 * The local default URL at another address: a container is set up with the same user, password
 * and database as the local default, so tests cannot tell the two apart.
 */
function localDefaultAt(name: ServiceName): (host: string, publishedPort: number) => string {
  return (host, publishedPort) => {
    const url = new URL(SERVICES[name].fallback);
    url.host = `${host.includes(':') ? `[${host}]` : host}:${publishedPort}`;
    return url.toString();
  };
}

/**
 * One container per service. Tags pin the release line tested here (PostgreSQL 15, MariaDB
 * 10.11, RabbitMQ 3.10, Redis 7.0, NATS 2.9); the patch level is the image's latest of that line.
 */
export const SERVICE_CONTAINERS: Readonly<Record<ServiceName, ServiceContainer>> = Object.freeze({
  postgres: {
    image: 'postgres:15-alpine',
    port: 5432,
    // Trust, user postgres, database test: what the local default URL expects.
    environment: { POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' },
    ready: { log: /database system is ready to accept connections/, times: 2 },
    url: localDefaultAt('postgres'),
  },
  mysql: {
    image: 'mariadb:10.11',
    port: 3306,
    environment: { MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: '1', MARIADB_DATABASE: 'test' },
    ready: { log: /ready for connections/, times: 2 },
    url: localDefaultAt('mysql'),
  },
  rabbitmq: {
    // The image lets guest/guest connect from outside the container (loopback_users.guest = false).
    image: 'rabbitmq:3.10-alpine',
    port: 5672,
    environment: {},
    ready: { log: /Server startup complete/, times: 1 },
    url: localDefaultAt('rabbitmq'),
  },
  redis: {
    image: 'redis:7.0-alpine',
    port: 6379,
    environment: {},
    // Like the local server: nothing kept on disk.
    command: ['redis-server', '--save', '', '--appendonly', 'no'],
    ready: { log: /Ready to accept connections/, times: 1 },
    url: localDefaultAt('redis'),
  },
  nats: {
    image: 'nats:2.9-alpine',
    port: 4222,
    environment: {},
    command: ['nats-server', '-js'],
    ready: { log: /Server is ready/, times: 1 },
    url: localDefaultAt('nats'),
  },
});
