// What the log-based source tests (PostgreSQL's slot, MariaDB's binlog) share: a reader of a
// connector publishing to a fresh exchange with a collector behind it, and small polls.
import { expect } from 'vitest';
import type { LogicalSourceConnector, RelayDatabase, SqlDatabase, WrittenEvent } from '@outboxkit/core';
import { createRabbitPublisher } from '@outboxkit/rabbitmq';
import { allCommittedDelivered, collectQueue, DeliveryLog, expectDeliveryOk, uniqueName } from '@outboxkit/testkit';

type Streaming = Awaited<ReturnType<typeof streamingReader>>;
/** Writes event `n` of aggregate `aggregateId` in its own committed transaction. */
type WriteOne = (aggregateId: string, n: number) => Promise<WrittenEvent>;

/** A reader from `source` on `target`, publishing to a fresh topic exchange; `close` stops it, then `dispose`s the database. */
export async function streamingReader(
  source: LogicalSourceConnector,
  url: string,
  target: RelayDatabase,
  p: { brokerUrl: string; batchSize: number; dispose(): Promise<void> },
) {
  const exchange = uniqueName('okt_lx');
  const log = new DeliveryLog();
  const collector = await collectQueue({
    url: p.brokerUrl,
    queue: uniqueName('okt_lq'),
    declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
    log,
  });
  const publisher = createRabbitPublisher({ connection: p.brokerUrl, exchange });
  const reader = source.reader(url, target, { publisher, batchSize: p.batchSize, leaseTtlMs: 3000, poisonPolicy: 'dead-letter' });
  return {
    log,
    collector,
    reader,
    publisher,
    async close() {
      await reader.stop();
      await publisher.close();
      await collector.close();
      await p.dispose();
    },
  };
}

export async function countRows(database: SqlDatabase, table: string): Promise<number> {
  const { rows } = await database.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0]!.n);
}

/** A hang guard, not a timing assertion. */
export async function waitUntil(check: () => Promise<boolean>, deadlineMs = 30_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('gave up waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts the reader, writes `events` over `aggregates` from 8 concurrent writers while it
 * streams, and checks the deliveries: lost 0, unexpected 0, out of order 0.
 */
export async function deliverConcurrentWrites(s: Streaming, write: WriteOne, p: { events: number; aggregates: number }): Promise<void> {
  await s.reader.start();
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let n = next++; n < p.events; n = next++) s.log.attempted(await write(`a-${n % p.aggregates}`, n), 'committed');
    }),
  );
  await s.collector.waitFor(allCommittedDelivered, 60_000);
  const report = s.log.check();
  expectDeliveryOk(report);
  expect(report.withoutSequence).toBe(0);
}

/**
 * Commit order: `hold` writes an event in a transaction it keeps open while `others` events
 * commit and are delivered; the held one is invisible until `commit`, then delivered after all of them.
 */
export async function heldTransactionDeliveredAfterOthers(
  s: Streaming,
  write: WriteOne,
  hold: () => Promise<{ event: WrittenEvent; commit(): Promise<void> }>,
  others = 200,
): Promise<void> {
  await s.reader.start();
  const held = await hold();
  for (let n = 0; n < others; n++) s.log.attempted(await write(`a-${n % 10}`, n), 'committed');
  await s.collector.waitFor(allCommittedDelivered, 60_000);
  expect(s.log.wasDelivered(held.event.id), 'invisible in the change log until it commits').toBe(false);
  await held.commit();
  s.log.attempted(held.event, 'committed');
  await s.collector.waitFor(allCommittedDelivered, 60_000);
  expectDeliveryOk(s.log.check());
  const arrival = s.log.deliveries.findIndex((delivery) => delivery.id === held.event.id);
  expect(arrival, `delivered in commit order: after all ${others} that committed before it`).toBe(others);
}
