import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import { PublishError } from '@outboxkit/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceUrl } from '../../testkit/dist/services.js';
import { createRabbitPublisher, type RabbitPublisher } from '../src/index.js';
import { storedEvent } from './fixtures.js';

const PASSWORD = 'N0t-For-Logs-7731';
// Nothing listens on port 1 of loopback: connections are refused at once.
const CLOSED_PORT_URL = `amqp://guest:${PASSWORD}@127.0.0.1:1`;

async function publishError(publisher: RabbitPublisher): Promise<PublishError> {
  const err = await publisher.publish(storedEvent()).then(
    () => null,
    (failure: unknown) => failure,
  );
  expect(err).toBeInstanceOf(PublishError);
  return err as PublishError;
}

/** Everything an error carries, as a logger that prints the cause chain would see it. */
function everythingIn(err: unknown): string {
  return `${inspect(err, { depth: 10 })}\n${(err as Error).stack ?? ''}`;
}

describe('a broker that is not there', () => {
  it('fails publishes with a transient "connection" error well inside the confirm timeout', async () => {
    const publisher = createRabbitPublisher({ connection: CLOSED_PORT_URL, confirmTimeoutMs: 60_000 });
    try {
      const first = await publishError(publisher);
      // The connection is now known to be down, so the next publish fails at once as well.
      const second = await publishError(publisher);

      for (const err of [first, second]) {
        expect(err.reason).toBe('connection');
        expect(err.permanent).toBe(false);
        expect(err.message).toContain('ECONNREFUSED');
        expect(err.message).toContain('127.0.0.1:1');
        expect(err.cause).toBeInstanceOf(Error);
      }
      expect(publisher.isConnected()).toBe(false);
    } finally {
      await publisher.close();
    }
  });

  it('never shows the password, in messages, causes or stacks', async () => {
    const publisher = createRabbitPublisher({ connection: CLOSED_PORT_URL, confirmTimeoutMs: 60_000 });
    try {
      const err = await publishError(publisher);
      expect(err.message).toContain('guest:***@127.0.0.1');
      expect(everythingIn(err)).not.toContain(PASSWORD);
    } finally {
      await publisher.close();
    }
  });
});

describe('a wrong password on the real broker', () => {
  it('fails with a transient "connection" error that does not show the password', async () => {
    const url = new URL(await serviceUrl('rabbitmq'));
    url.password = PASSWORD;
    const publisher = createRabbitPublisher({ connection: url.toString(), confirmTimeoutMs: 60_000 });
    try {
      const err = await publishError(publisher);
      expect(err.reason).toBe('connection');
      expect(err.permanent).toBe(false);
      expect(err.message).toContain('ACCESS_REFUSED');
      expect(everythingIn(err)).not.toContain(PASSWORD);
    } finally {
      await publisher.close();
    }
  });
});

describe('a server that accepts TCP and never answers', () => {
  // A fault-injecting fake: a real broker cannot be made to stall its handshake on demand.
  let server: Server;
  const sockets = new Set<Socket>();
  let url: string;

  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('expected a TCP address');
    url = `amqp://guest:${PASSWORD}@127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('fails the publish with a transient "timeout" after confirmTimeoutMs', async () => {
    const publisher = createRabbitPublisher({ connection: url, confirmTimeoutMs: 300 });
    try {
      const err = await publishError(publisher);
      expect(err.reason).toBe('timeout');
      expect(err.permanent).toBe(false);
      expect(err.message).toContain('confirmTimeoutMs (300 ms)');
      expect(err.message).toContain('not established yet');
      expect(everythingIn(err)).not.toContain(PASSWORD);
      expect(sockets.size).toBe(1);
      expect(publisher.isConnected()).toBe(false);
    } finally {
      await publisher.close();
    }
  });
});
