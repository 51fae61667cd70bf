import { userInfo } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Connection } from 'rabbitmq-client';
import type { DatabaseTarget } from '@outboxkit/relay';
import { allCommittedDelivered, collectQueue, DeliveryLog, expectDeliveryOk, serviceUrl, uniqueName, type QueueCollector } from '@outboxkit/testkit';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { cli, databaseFlags, eventsOf, openTarget, quarantineList, statusOf, writeCommitted } from './support/operations-helpers.js';

describe.each(DATABASE_KINDS)('outbox-relay quarantine on %s', (kind) => {
  let db: TestDatabase;
  let dbFlags: string[];
  let brokerUrl: string;
  let runFlags: string[];
  let target: DatabaseTarget;
  let connection: Connection;
  let collector: QueueCollector;
  const log = new DeliveryLog();

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    dbFlags = databaseFlags(db);
    brokerUrl = await serviceUrl('rabbitmq');
    const exchange = uniqueName('okt_quar_x');
    // One attempt: an unroutable event is quarantined at its first failure.
    runFlags = ['run', '--once', '--max-attempts', '1', '--log-level', 'warn', ...dbFlags, '--broker-url', brokerUrl, '--exchange', exchange];
    await cli(['migrate', ...dbFlags]);
    target = await openTarget(db);
    connection = new Connection(brokerUrl);
    collector = await collectQueue({
      connection,
      queue: uniqueName('okt_quar_q'),
      declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
      log,
    });
  });

  afterAll(async () => {
    await collector?.close();
    await connection?.close();
    await target?.database.close();
    await db?.dispose();
  });

  it('parks an unroutable event; retry delivers it and then the held-back events, in order', async () => {
    const missingQueue = uniqueName('okt_no_such_queue');
    // Every event of p-1 goes straight to a queue that does not exist yet (default exchange).
    const lateLog = new DeliveryLog();
    const parked = await writeCommitted(target, lateLog, eventsOf('payment', 'p-1', 3, `/${missingQueue}`));
    const other = await writeCommitted(target, log, eventsOf('payment', 'p-2', 2));
    await cli(runFlags);
    await collector.waitFor((l) => other.every((event) => l.wasDelivered(event.id)), 30_000);

    const [entry, ...rest] = await quarantineList(dbFlags);
    expect(rest).toEqual([]);
    expect(entry).toMatchObject({ id: parked[0]!.id, aggregateType: 'payment', aggregateId: 'p-1', sequence: 1, attempts: 1, status: 'parked' });
    expect(entry!.reason).toMatch(/unroutable/);
    expect(await statusOf(dbFlags)).toMatchObject({ backlog: 2, quarantined: 1, parkedAggregates: 1 });
    const text = await cli(['quarantine', 'list', ...dbFlags]);
    expect(text.stdout).toContain(`${parked[0]!.id}  payment:p-1  #1  payment.changed  attempts=1  parked`);
    expect(text.stdout).toMatch(/1 quarantine row\(s\), 1 open/);

    // The route exists now; the retried event goes first, then the two held behind it.
    await connection.queueDeclare({ queue: missingQueue, exclusive: true });
    const late = await collectQueue({ connection, queue: missingQueue, log: lateLog });
    try {
      const retried = await cli(['quarantine', 'retry', parked[0]!.id, '--by', 'alice', '--reason', 'queue created', ...dbFlags]);
      expect(retried.stdout).toContain(`retried ${parked[0]!.id}`);
      expect(await statusOf(dbFlags)).toMatchObject({ backlog: 3, quarantined: 0, parkedAggregates: 0 });
      const again = await cli(['quarantine', 'retry', parked[0]!.id, ...dbFlags]);
      expect(again.stdout).toContain('was already retried; nothing changed');

      await cli(runFlags);
      await late.waitFor(allCommittedDelivered, 30_000);
      expect(lateLog.deliveries.map((d) => [d.id, d.sequence])).toEqual(parked.map((event) => [event.id, event.sequence]));
      for (const report of [lateLog.check(), log.check()]) {
        expectDeliveryOk(report);
        expect(report.duplicateDeliveries).toBe(0);
      }
    } finally {
      await late.close();
    }

    const [resolved] = (await quarantineList(dbFlags, true)).filter((row) => row.id === parked[0]!.id);
    expect(resolved).toMatchObject({ status: 'retried', resolvedBy: 'alice', resolutionNote: 'queue created' });
    expect(resolved!.resolvedAt).not.toBeNull();
    expect(await statusOf(dbFlags)).toMatchObject({ backlog: 0, quarantined: 0, parkedAggregates: 0 });
  });

  it('skip un-parks the aggregate, which continues without the event, and records who and why', async () => {
    const [poison] = await writeCommitted(target, null, eventsOf('refund', 'r-1', 1, `/${uniqueName('okt_never')}`));
    const held = await writeCommitted(
      target,
      log,
      eventsOf('refund', 'r-1', 2).map((e) => ({ ...e, type: 'refund.next' })),
    );
    await cli(runFlags);
    expect(await statusOf(dbFlags)).toMatchObject({ backlog: 2, parkedAggregates: 1 });
    expect(held.every((event) => !log.wasDelivered(event.id))).toBe(true);

    const noReason = await cli(['quarantine', 'skip', poison!.id, ...dbFlags], 1);
    expect(noReason.stderr).toMatch(/--reason/);
    const skipped = await cli(['quarantine', 'skip', poison!.id, '--reason', 'superseded by a manual refund', ...dbFlags]);
    expect(skipped.stdout).toContain(`skipped ${poison!.id}`);

    await cli(runFlags);
    await collector.waitFor(allCommittedDelivered, 30_000);
    expect(log.deliveries.filter((d) => d.aggregateId === 'r-1').map((d) => d.sequence)).toEqual([2, 3]);
    expect(log.wasDelivered(poison!.id)).toBe(false);
    const [row] = (await quarantineList(dbFlags, true)).filter((entry) => entry.id === poison!.id);
    expect(row).toMatchObject({ status: 'skipped', resolvedBy: userInfo().username, resolutionNote: 'superseded by a manual refund' });
    expect(await quarantineList(dbFlags)).toEqual([]);

    const unknown = await cli(['quarantine', 'retry', '0190b5a0-0000-7000-8000-000000000000', ...dbFlags], 1);
    expect(unknown.stderr).toMatch(/not in quarantine: 0190b5a0-0000-7000-8000-000000000000/);
    const invalid = await cli(['quarantine', 'retry', 'not-an-id', ...dbFlags], 2);
    expect(invalid.stderr).toMatch(/"not-an-id" is not an event id/);
  });
});
