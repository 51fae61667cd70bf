// A relay started while its database is unreachable waits for it (saying so) instead of exiting,
// and starts publishing once it answers. The database is the local PostgreSQL behind a TCP
// forwarder this test opens on a loopback port only after the relay has failed to connect.
// (Missing tables still fail at once: test/relay-cli-missing-tables.test.ts.)
import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { writeEvents } from '@outboxkit/core';
import { openDatabase } from '@outboxkit/relay';
import { allCommittedDelivered, collectQueue, DeliveryLog, serviceUrl, uniqueName } from '@outboxkit/testkit';
import { waitUntil } from './faults/harness.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { startRelay, type RelayProcess } from './support/relay-process.js';

/** A loopback port nothing listens on (yet): bound once by the OS, then released. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Forwards `port` to `target` until closed. */
async function forward(port: number, target: { host: string; port: number }): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('outbox-relay run started before its database', () => {
  let db: TestDatabase | undefined;
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
    await db?.dispose();
  });

  it('logs that the database is unreachable, retries, and publishes once it answers', async () => {
    db = await createTestDatabase('PostgreSQL');
    const direct = await openDatabase(db.url, { tables: { schema: db.schema! } });
    cleanup.push(() => direct.database.close());
    await direct.dialect.migrate(direct.database);
    const log = new DeliveryLog();
    const [event] = await direct.database.transaction((tx) =>
      writeEvents(direct.dialect, tx, { aggregateType: 'doc', aggregateId: 'd-1', type: 'doc.saved', payload: {} }),
    );
    log.attempted(event!, 'committed');
    const brokerUrl = await serviceUrl('rabbitmq');
    const exchange = uniqueName('okt_x');
    const collector = await collectQueue({
      url: brokerUrl,
      queue: uniqueName('okt_q'),
      declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
      log,
    });
    cleanup.push(() => collector.close());

    const real = new URL(db.url);
    const port = await freePort();
    const viaProxy = new URL(db.url);
    viaProxy.host = `127.0.0.1:${port}`;
    const relay: RelayProcess = startRelay([
      '--database-url',
      viaProxy.toString(),
      '--schema',
      db.schema!,
      '--broker-url',
      brokerUrl,
      '--exchange',
      exchange,
      '--poll-interval-ms',
      '200',
      '--log-level',
      'info',
    ]);
    cleanup.push(() => relay.stop('SIGKILL'));

    await waitUntil(
      'two "database unreachable at start" lines',
      async () => (relay.output().match(/database unreachable at start \(.*ECONNREFUSED.*retrying in/g) ?? []).length >= 2,
      30_000,
    );
    expect(relay.child.exitCode, 'the relay waits instead of exiting').toBeNull();
    expect(log.wasDelivered(event!.id)).toBe(false);

    const proxy = await forward(port, { host: real.hostname, port: Number(real.port || 5432) });
    cleanup.push(() => proxy.close());
    await collector.waitFor(allCommittedDelivered, 60_000);
    expect(relay.output()).toMatch(/"msg":"relay started"/);
    expect(await relay.stop('SIGTERM')).toBe(0);
  });
});
