#!/usr/bin/env node
// One source of scenario "cdc" (lib/scenarios/cdc.mjs, CDC_SOURCES) running in a process of its
// own while the parent's producers commit, as `outbox-relay run` runs beside a service: neither
// the producers' commit rate nor the source's latency is also the other's share of one event
// loop. Protocol (IPC): the child opens the database and the publisher, starts the source, sends
// { ready: true }, waits for 'stop', stops it and sends { stopped: true, cpuMs } (its own CPU
// between the two), then exits.
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createPgPool, createPostgresDialect, pgDatabase, pgListener } from '@outboxkit/postgres';
import { createRabbitPublisher } from '@outboxkit/rabbitmq';
import { CDC_SOURCES } from './scenarios/cdc.mjs';

const job = JSON.parse(process.argv[2] ?? '{}');

/** The few parts of a benchmark target (lib/targets.mjs) a source's reader uses. */
function openTarget({ kind, url, schema }) {
  if (kind === 'postgres') {
    return {
      url,
      dialect: createPostgresDialect({ tables: { schema }, notify: { channel: schema } }),
      db: pgDatabase(createPgPool(url, { max: 4 })),
      wakeSources: (wake) => (wake ? [pgListener({ connect: url, channel: schema })] : []),
    };
  }
  if (kind === 'mysql') {
    return {
      url,
      dialect: createMysqlDialect(),
      db: mysqlDatabase(createMysqlPool(url, { connectionLimit: 4 })),
      // MariaDB has no wake-up across processes (the in-process commit signal would never fire
      // here, the producers commit in the parent): the relay polls.
      wakeSources: () => [],
    };
  }
  throw new Error(`source-child: database ${kind} is not supported here`);
}

try {
  const source = CDC_SOURCES.find((candidate) => candidate.id === job.source);
  if (source === undefined) throw new Error(`source-child: unknown source ${job.source}`);
  const target = openTarget(job.database);
  const publisher = createRabbitPublisher({ connection: job.broker.url, exchange: job.broker.exchange, declareExchange: false });
  await publisher.connected(AbortSignal.timeout(10_000));
  const reader = source.reader({ relayOptions: job.relayOptions }, target, publisher);
  await reader.start();
  const stop = new Promise((resolve) => process.once('message', resolve));
  const cpu = process.cpuUsage();
  process.send({ ready: true });
  await stop;
  const used = process.cpuUsage(cpu);
  await reader.stop();
  await publisher.close();
  await target.db.close();
  process.send({ stopped: true, cpuMs: (used.user + used.system) / 1000 }, () => process.exit(0));
} catch (error) {
  process.send({ error: error instanceof Error ? error.stack : String(error) }, () => process.exit(1));
}
