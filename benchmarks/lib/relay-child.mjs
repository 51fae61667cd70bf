#!/usr/bin/env node
// A drain in a process of its own, so its CPU is its own (the consumer and the producers stay in
// the parent): `relay` drains what is pending with the outboxkit Relay, `raw` publishes the same
// messages with the broker's own client. Protocol (IPC): the child sets up, sends
// { ready: true }, waits for 'go', drains, and sends { cpuMs, wallMs, peakRssMiB } measured from
// 'go' (set-up and module loading excluded), then exits.
import { Relay } from '@outboxkit/core';
import { IN_FLIGHT } from './brokers/index.mjs';
import { rabbitRawClient } from './brokers/rabbitmq.mjs';
import { pooled, storedOrderEvent, withResources } from './util.mjs';

const job = JSON.parse(process.argv[2] ?? '{}');

async function openDatabase({ kind, url, schema, file }) {
  if (kind === 'postgres') {
    const { createPostgresDialect, createPgPool, pgDatabase } = await import('@outboxkit/postgres');
    return { dialect: createPostgresDialect({ tables: { schema }, notify: false }), db: pgDatabase(createPgPool(url, { max: 4 })) };
  }
  if (kind === 'mysql') {
    const { createMysqlDialect, createMysqlPool, mysqlDatabase } = await import('@outboxkit/mysql');
    return { dialect: createMysqlDialect(), db: mysqlDatabase(createMysqlPool(url, { connectionLimit: 4 })) };
  }
  const { createSqliteDialect, openSqliteDatabase } = await import('@outboxkit/sqlite');
  return { dialect: createSqliteDialect(), db: openSqliteDatabase(file) };
}

async function openWork() {
  if (job.broker.kind !== 'rabbitmq') throw new Error(`relay-child: broker ${job.broker.kind} is not supported here (RabbitMQ only)`);
  if (job.mode === 'raw') {
    const client = await rabbitRawClient(job.broker.url, job.broker.exchange);
    const events = Array.from({ length: job.count }, (_, i) => storedOrderEvent(i, job.aggregates));
    return { run: () => pooled(events.length, IN_FLIGHT, (i) => client.send(events[i])), close: () => client.close() };
  }
  const { createRabbitPublisher } = await import('@outboxkit/rabbitmq');
  const { dialect, db } = await openDatabase(job.database);
  const publisher = createRabbitPublisher({ connection: job.broker.url, exchange: job.broker.exchange, declareExchange: false });
  await publisher.connected(AbortSignal.timeout(10_000));
  const relay = new Relay({ dialect, database: db, publisher, wakeSources: [], ...job.relayOptions });
  return {
    run: () => relay.drain(),
    close: async () => {
      await publisher.close();
      await db.close();
    },
  };
}

try {
  const work = await openWork();
  const go = new Promise((resolve) => process.once('message', resolve));
  process.send({ ready: true });
  await go;
  const { cpuMs, wallMs, peakRssMiB } = await withResources(() => work.run());
  await work.close();
  process.send({ cpuMs, wallMs, peakRssMiB }, () => process.exit(0));
} catch (error) {
  process.send({ error: error instanceof Error ? error.stack : String(error) }, () => process.exit(1));
}
