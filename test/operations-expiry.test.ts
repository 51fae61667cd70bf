import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxConfigError, Relay, type EventInput } from '@outboxkit/core';
import { createRabbitPublisher } from '@outboxkit/rabbitmq';
import { createOutboxAdmin, type OutboxAdmin } from '@outboxkit/relay';
import { DeliveryLog, expectDeliveryOk } from '@outboxkit/testkit';
import { createRelayMetrics } from '../packages/relay/src/observability/index.js';
import { DATABASE_KINDS } from './support/databases.js';
import { cli, operationsFixture, quarantineList, statusOf, writeCommitted, type OperationsFixture } from './support/operations-helpers.js';

/** Written a minute ago with a TTL of 59 s: expired before any relay saw it. */
const expired = (aggregateId: string): EventInput => ({
  aggregateType: 'quote',
  aggregateId,
  type: 'quote.offered',
  payload: { price: 10 },
  occurredAt: new Date(Date.now() - 60_000),
  ttlMs: 59_000,
});

describe.each(DATABASE_KINDS)('event expiry: relay metrics, quarantine list and retry (CLI and admin API) on %s', (kind) => {
  const log = new DeliveryLog();
  let fixture: OperationsFixture;
  let admin: OutboxAdmin;

  beforeAll(async () => {
    fixture = await operationsFixture(kind, 'okt_exp', log);
    admin = await createOutboxAdmin({ database: fixture.db.url, tables: fixture.db.schema ? { schema: fixture.db.schema } : {} });
  });

  afterAll(async () => {
    await admin?.close();
    await fixture?.dispose();
  });

  /** Drains the outbox with an in-process relay that feeds `metrics`. */
  async function drainWith(metrics: ReturnType<typeof createRelayMetrics>) {
    const [, url, , exchange] = fixture.brokerFlags;
    const publisher = createRabbitPublisher({ connection: url!, exchange: exchange! });
    try {
      const relay = new Relay({ dialect: fixture.target.dialect, database: fixture.target.database, publisher, observer: metrics.observer, wakeSources: [] });
      return await relay.drain();
    } finally {
      await publisher.close();
    }
  }

  const expiredCount = async (metrics: ReturnType<typeof createRelayMetrics>): Promise<number> =>
    (await metrics.registry.getSingleMetric('outbox_events_expired_total')!.get()).values[0]!.value;

  it('counts an expired event, lists it with reason expired, re-quarantines it on a plain retry and publishes it on --ignore-expiry', async () => {
    const [stale] = await writeCommitted(fixture.target, log, [expired('q-1')]);
    const [fresh] = await writeCommitted(fixture.target, log, [{ ...expired('q-2'), occurredAt: new Date(), ttlMs: 600_000 }]);
    const metrics = createRelayMetrics({ defaultMetrics: false });
    expect(await drainWith(metrics)).toMatchObject({ published: 1, quarantined: 1, expired: 1 });
    expect(await expiredCount(metrics)).toBe(1);
    expect(await metrics.registry.metrics()).toContain('outbox_quarantined_total{status="parked"} 1');
    await fixture.collector.waitFor((l) => l.wasDelivered(fresh!.id), 30_000);
    expect(log.wasDelivered(stale!.id)).toBe(false);

    const reason = `expired: the event expired at ${stale!.expiresAt!.toISOString()} before it was published`;
    const [listed, ...rest] = await quarantineList(fixture.dbFlags);
    expect(rest).toEqual([]);
    expect(listed).toMatchObject({ id: stale!.id, aggregateId: 'q-1', status: 'parked', reason });
    const text = await cli(['quarantine', 'list', ...fixture.dbFlags]);
    expect(text.stdout).toContain(`${stale!.id}  quote:q-1  #1  quote.offered  attempts=1  parked`);
    expect(text.stdout).toContain(`    reason: ${reason}`);
    expect(await admin.listQuarantine()).toEqual([expect.objectContaining({ id: stale!.id, status: 'parked', reason })]);

    // A plain retry (admin API) keeps the expiry: the relay quarantines the event again.
    await expect(admin.retryQuarantined([stale!.id], { by: 'ops', ignoreExpiry: 'yes' as never })).rejects.toThrow(OutboxConfigError);
    expect(await admin.retryQuarantined([stale!.id], { by: 'ops' })).toEqual([{ id: stale!.id, outcome: 'done', status: 'retried' }]);
    expect(await drainWith(metrics)).toMatchObject({ published: 0, quarantined: 1, expired: 1 });
    expect(await expiredCount(metrics)).toBe(2);
    expect((await admin.listQuarantine()).map((row) => [row.id, row.status, row.reason])).toEqual([[stale!.id, 'parked', reason]]);

    // Asked explicitly (CLI), the retry clears the expiry and `run --once` publishes it late.
    const retried = await cli(['quarantine', 'retry', stale!.id, '--ignore-expiry', '--by', 'ops', ...fixture.dbFlags]);
    expect(retried.stdout).toContain(`retried ${stale!.id}: back in the pending table at its original position, its expiry cleared (by ops)`);
    await cli(['run', '--once', '--log-level', 'warn', ...fixture.dbFlags, ...fixture.brokerFlags]);
    await fixture.collector.waitFor((l) => l.wasDelivered(stale!.id), 30_000);
    expectDeliveryOk(log.check());
    expect(await statusOf(fixture.dbFlags)).toMatchObject({ backlog: 0, quarantined: 0, parkedAggregates: 0 });
    const [resolved] = await admin.listQuarantine({ includeResolved: true });
    expect(resolved).toMatchObject({ id: stale!.id, status: 'retried', resolvedBy: 'ops', reason });
  });
});
