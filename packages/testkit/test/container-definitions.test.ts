import { createConnection } from 'node:net';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { SERVICE_CONTAINERS, SERVICE_NAMES, SERVICES, serviceUrl, type ServiceName } from '../src/index.js';

// No container runtime exists on this project's machines, so no container is started here: these
// tests check the definitions as data, and that the URL a started container would be handed out
// under is the one the suites already use for the local servers.

describe('container definitions', () => {
  it('start each service with the image, port, credentials and readiness check the URL relies on', () => {
    expect(SERVICE_NAMES).toEqual(['postgres', 'mysql', 'rabbitmq', 'redis', 'nats']);
    const asData = Object.fromEntries(SERVICE_NAMES.map((name) => [name, { ...SERVICE_CONTAINERS[name], url: undefined }]));
    expect(asData).toEqual({
      postgres: {
        image: 'postgres:15-alpine',
        port: 5432,
        environment: { POSTGRES_HOST_AUTH_METHOD: 'trust', POSTGRES_DB: 'test' },
        ready: { log: /database system is ready to accept connections/, times: 2 },
        url: undefined,
      },
      mysql: {
        image: 'mariadb:10.11',
        port: 3306,
        environment: { MARIADB_ALLOW_EMPTY_ROOT_PASSWORD: '1', MARIADB_DATABASE: 'test' },
        ready: { log: /ready for connections/, times: 2 },
        url: undefined,
      },
      rabbitmq: { image: 'rabbitmq:3.10-alpine', port: 5672, environment: {}, ready: { log: /Server startup complete/, times: 1 }, url: undefined },
      redis: {
        image: 'redis:7.0-alpine',
        port: 6379,
        environment: {},
        command: ['redis-server', '--save', '', '--appendonly', 'no'],
        ready: { log: /Ready to accept connections/, times: 1 },
        url: undefined,
      },
      nats: {
        image: 'nats:2.9-alpine',
        port: 4222,
        environment: {},
        command: ['nats-server', '-js'],
        ready: { log: /Server is ready/, times: 1 },
        url: undefined,
      },
    });
  });

  it('hand out a started container under the local default URL, with only host and port changed', () => {
    const published = (name: ServiceName) => SERVICE_CONTAINERS[name].url('localhost', 49153);
    expect(SERVICE_NAMES.map(published)).toEqual([
      'postgres://postgres@localhost:49153/test',
      'mysql://root@localhost:49153/test',
      'amqp://guest:guest@localhost:49153',
      'redis://localhost:49153',
      'nats://localhost:49153',
    ]);
    expect(SERVICE_CONTAINERS.postgres.url('::1', 32768)).toBe('postgres://postgres@[::1]:32768/test');
    // A container published on the local default's own address is indistinguishable from it.
    for (const name of SERVICE_NAMES) {
      const { port } = new URL(SERVICES[name].fallback);
      expect(SERVICE_CONTAINERS[name].url('127.0.0.1', Number(port))).toBe(SERVICES[name].fallback);
      expect(Number(port)).toBe(SERVICE_CONTAINERS[name].port);
    }
  });

  it('set up exactly the user, password and database the URLs name', () => {
    const postgres = new URL(SERVICE_CONTAINERS.postgres.url('h', 1));
    // The image's superuser is postgres; trust means the URL needs no password.
    expect([postgres.username, postgres.password, postgres.pathname]).toEqual(['postgres', '', `/${SERVICE_CONTAINERS.postgres.environment.POSTGRES_DB}`]);
    const mysql = new URL(SERVICE_CONTAINERS.mysql.url('h', 1));
    expect([mysql.username, mysql.password, mysql.pathname]).toEqual(['root', '', `/${SERVICE_CONTAINERS.mysql.environment.MARIADB_DATABASE}`]);
    // The rabbitmq image keeps guest/guest and lets it in from outside the container.
    const rabbit = new URL(SERVICE_CONTAINERS.rabbitmq.url('h', 1));
    expect([rabbit.username, rabbit.password]).toEqual(['guest', 'guest']);
  });

  it('pin the release line of the servers this project is tested against (asked from the running servers)', async () => {
    const running: Record<ServiceName, string> = {
      postgres: await postgresVersion(await serviceUrl('postgres')),
      mysql: await greeting(await serviceUrl('mysql'), undefined, /(\d+\.\d+\.\d+)-MariaDB/),
      // connection.start's server-properties: "version", a long-string marker and length, then the version.
      rabbitmq: await greeting(await serviceUrl('rabbitmq'), 'AMQP\x00\x00\x09\x01', /version[\s\S]{5}(\d+\.\d+\.\d+)/),
      redis: await greeting(await serviceUrl('redis'), 'INFO server\r\n', /redis_version:(\d+\.\d+\.\d+)/),
      nats: await greeting(await serviceUrl('nats'), undefined, /"version":"(\d+\.\d+\.\d+)"/),
    };
    for (const name of SERVICE_NAMES) {
      const line = /:(\d+(?:\.\d+)*)/.exec(SERVICE_CONTAINERS[name].image)?.[1];
      expect({ name, line, sameLine: line !== undefined && `${running[name]}.`.startsWith(`${line}.`) }).toEqual({ name, line, sameLine: true });
    }
  });
});

async function postgresVersion(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return /^\d+\.\d+/.exec(rows[0]!.server_version)![0];
  } finally {
    await client.end();
  }
}

/** What a server says first (after `send`, if given), reduced to the first group of `pattern`. */
function greeting(url: string, send: string | undefined, pattern: RegExp): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port), timeout: 10_000 });
    let received = '';
    socket.once('connect', () => {
      if (send !== undefined) socket.write(Buffer.from(send, 'latin1'));
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const match = pattern.exec(received);
      if (match) {
        socket.destroy();
        resolve(match[1]!);
      }
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new Error(`${url} said nothing matching ${pattern}: ${JSON.stringify(received.slice(0, 200))}`));
    });
    socket.once('error', reject);
  });
}
