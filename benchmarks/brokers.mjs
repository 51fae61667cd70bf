// Drain throughput of the relay on NATS JetStream and Redis Streams vs that broker's raw client,
// same messages, same run (SQLite outbox, so the database is not what is measured):
//   node benchmarks/brokers.mjs --quick      (5,000 events over 100 aggregates per broker)
//   node benchmarks/brokers.mjs              (50,000 events over 1,000 aggregates)
// The clock stops when every event is consumed (the collectors of @outboxkit/testkit). Raw: the
// same payloads and headers (core's messageHeaders), 128 in flight (the relay's maxInFlight).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Relay, writeEvents } from '@outboxkit/core';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { createNatsPublisher, toNatsMessage } from '@outboxkit/nats';
import { createRedisPublisher, toStreamFields } from '@outboxkit/redis';
import { collectJetStream, collectRedisStreams, serviceUrl, storedEvent, uniqueName } from '@outboxkit/testkit';
import { jetstream } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import { createClient } from 'redis';

const quick = process.argv.includes('--quick');
const EVENTS = quick ? 5000 : 50_000;
const AGGREGATES = quick ? 100 : 1000;
const IN_FLIGHT = 128;

async function timed(collector, send) {
  const started = performance.now();
  await send();
  await collector.waitFor(EVENTS, 300_000);
  return EVENTS / ((performance.now() - started) / 1000);
}

async function pool(items, worker) {
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < items.length; i = next++) await worker(items[i]);
    }),
  );
}

const payload = (n) => ({ orderId: `o-${n}`, total: n % 997, lines: [{ sku: 'A-1', qty: 1 }], note: 'benchmark payload of a typical size' });

async function relayRun(publisher, collector) {
  const dir = mkdtempSync(join(tmpdir(), 'okt-bench-'));
  const database = openSqliteDatabase(join(dir, 'outbox.db'));
  const dialect = createSqliteDialect();
  await dialect.migrate(database);
  for (let start = 0; start < EVENTS; start += 500) {
    const batch = Array.from({ length: Math.min(500, EVENTS - start) }, (_, i) => ({
      aggregateType: 'order',
      aggregateId: `o-${(start + i) % AGGREGATES}`,
      type: 'order.placed',
      payload: payload(start + i),
    }));
    await database.transaction((tx) => writeEvents(dialect, tx, batch));
  }
  const relay = new Relay({ dialect, database, publisher, wakeSources: [], pollIntervalMs: 50 });
  try {
    return await timed(collector, async () => {
      for (let result = await relay.drain(); result.claimed > 0; result = await relay.drain());
    });
  } finally {
    await relay.stop();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const events = () =>
  Array.from({ length: EVENTS }, (_, n) =>
    storedEvent({ aggregateId: `o-${n % AGGREGATES}`, type: 'order.placed', payload: payload(n) }, Math.floor(n / AGGREGATES) + 1),
  );

async function nats() {
  const url = await serviceUrl('nats');
  const rows = {};
  {
    const prefix = uniqueName('bench');
    const stream = prefix.toUpperCase();
    const collector = await collectJetStream({ url, stream, createWithSubjects: [`${prefix}.>`] });
    const publisher = createNatsPublisher({ connection: url, subjectPrefix: prefix, stream });
    rows.relay = await relayRun(publisher, collector);
    await publisher.close();
    await collector.close();
    await dropStream(url, stream);
  }
  {
    const prefix = uniqueName('bench');
    const stream = prefix.toUpperCase();
    const collector = await collectJetStream({ url, stream, createWithSubjects: [`${prefix}.>`] });
    const nc = await connect({ servers: url.replace(/^nats:\/\//, '') });
    const js = jetstream(nc);
    rows.raw = await timed(collector, () =>
      pool(events(), async (event) => {
        const { data, headers } = toNatsMessage(event);
        const h = natsHeaders();
        for (const [k, v] of Object.entries(headers)) h.set(k, v);
        await js.publish(`${prefix}.${event.aggregateType}.${event.type}`, data, { msgID: event.id, headers: h });
      }),
    );
    await nc.close();
    await collector.close();
    await dropStream(url, stream);
  }
  return rows;
}

async function dropStream(url, stream) {
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: url.replace(/^nats:\/\//, '') });
  await (await jetstreamManager(nc)).streams.delete(stream).catch(() => undefined);
  await nc.close();
}

async function redis() {
  const url = await serviceUrl('redis');
  const rows = {};
  const client = createClient({ url });
  await client.connect();
  for (const mode of ['relay', 'raw']) {
    const prefix = uniqueName('bench');
    const collector = await collectRedisStreams({ url, keyPrefix: `${prefix}:` });
    if (mode === 'relay') {
      const publisher = createRedisPublisher({ connection: url, streamPrefix: prefix });
      rows.relay = await relayRun(publisher, collector);
      await publisher.close();
    } else {
      rows.raw = await timed(collector, () => pool(events(), (event) => client.xAdd(`${prefix}:${event.aggregateType}`, '*', toStreamFields(event))));
    }
    await collector.close();
    await client.del(`${prefix}:order`);
  }
  client.destroy();
  return rows;
}

const results = { 'NATS JetStream': await nats(), 'Redis Streams': await redis() };
console.log(`broker drain, ${EVENTS} events over ${AGGREGATES} aggregates, SQLite outbox, load average ${(await import('node:os')).loadavg()[0].toFixed(2)}`);
console.log('| broker | relay msg/s | raw client msg/s | relay / raw |');
console.log('|---|---|---|---|');
for (const [name, { relay, raw }] of Object.entries(results))
  console.log(`| ${name} | ${relay.toFixed(0)} | ${raw.toFixed(0)} | ${(relay / raw).toFixed(2)} |`);
process.exit(0);
