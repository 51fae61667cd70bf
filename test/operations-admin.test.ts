import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxConfigError, type OutboxStatus } from '@outboxkit/core';
import { createOutboxAdmin, judgeHealth, openDatabase, type OutboxAdmin } from '@outboxkit/relay';
import { allCommittedDelivered, DeliveryLog, expectDeliveryOk } from '@outboxkit/testkit';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { cli, eventsOf, operationsFixture, writeCommitted, type OperationsFixture } from './support/operations-helpers.js';
import { runCli } from './support/relay-process.js';

const STATUS: OutboxStatus = Object.freeze({
  backlog: 10,
  oldestPendingAgeSeconds: 90,
  shardOwners: [{ owner: 'relay-a', shards: 64, expiresInSeconds: 12 }],
  quarantined: 2,
  parkedAggregates: 1,
});

describe('judgeHealth: the verdict from the outbox figures', () => {
  it('is ok within every threshold, and without thresholds while a relay holds the shards', () => {
    expect(judgeHealth(STATUS, {})).toEqual({ status: 'ok', reasons: [], outbox: STATUS });
    expect(judgeHealth(STATUS, { maxOldestPendingAgeMs: 90_000, maxQuarantined: 2, maxBacklog: 10 }).status).toBe('ok');
  });

  it('is degraded, with one reason per threshold exceeded', () => {
    const report = judgeHealth(STATUS, { maxOldestPendingAgeMs: 60_000, maxQuarantined: 0, maxBacklog: 5 });
    expect(report.status).toBe('degraded');
    expect(report.reasons).toEqual([
      expect.stringMatching(/oldest pending event is 90000 ms old \(threshold 60000 ms\)/),
      expect.stringMatching(/2 event\(s\) quarantined \(threshold 0\): see outbox-relay quarantine list/),
      expect.stringMatching(/10 event\(s\) pending \(threshold 5\)/),
    ]);
  });

  it('is failed when events are pending and no relay holds a live lease, whatever the thresholds', () => {
    for (const shardOwners of [[], [{ owner: 'gone', shards: 64, expiresInSeconds: -3 }]]) {
      const report = judgeHealth({ ...STATUS, shardOwners }, { maxQuarantined: 0 });
      expect(report.status).toBe('failed');
      expect(report.reasons[0]).toMatch(/10 event\(s\) pending and no relay holds a live lease: start outbox-relay run/);
    }
    // Nothing pending: nobody needs to publish.
    expect(judgeHealth({ ...STATUS, backlog: 0, oldestPendingAgeSeconds: null, quarantined: 0, shardOwners: [] }, {}).status).toBe('ok');
  });
});

describe.each(DATABASE_KINDS)('the admin API on %s', (kind) => {
  const log = new DeliveryLog();
  let fixture: OperationsFixture;
  let admin: OutboxAdmin;

  beforeAll(async () => {
    fixture = await operationsFixture(kind, 'okt_admin', log);
    admin = await createOutboxAdmin({ database: fixture.db.url, tables: fixture.db.schema ? { schema: fixture.db.schema } : {} });
  });

  afterAll(async () => {
    await admin?.close();
    await fixture?.dispose();
  });

  it('health: ok when empty, failed while events wait without a relay, ok again once published; the CLI exits 0 / 1', async () => {
    expect(await admin.health({ maxQuarantined: 0 })).toMatchObject({ status: 'ok', reasons: [] });
    expect((await runCli(['health', ...fixture.dbFlags])).code).toBe(0);

    await writeCommitted(fixture.target, log, eventsOf('order', 'h-1', 2));
    const waiting = await admin.health({ maxOldestPendingAgeMs: 3_600_000 });
    expect(waiting.status).toBe('failed');
    expect(waiting.outbox?.backlog).toBe(2);
    const cliFailed = await runCli(['health', '--json', ...fixture.dbFlags]);
    expect(cliFailed.code).toBe(1);
    expect(JSON.parse(cliFailed.stdout)).toMatchObject({ status: 'failed', outbox: { backlog: 2 } });

    await cli(['run', '--once', '--log-level', 'warn', ...fixture.dbFlags, ...fixture.brokerFlags]);
    await fixture.collector.waitFor(allCommittedDelivered, 30_000);
    expect(await admin.health({ maxBacklog: 0 })).toMatchObject({ status: 'ok', outbox: { backlog: 0 } });
  });

  it('replay: a dry run lists the aggregate, a replay through a publisher it was given re-delivers it; ids not in history are named', async () => {
    const events = await writeCommitted(fixture.target, log, eventsOf('order', 'r-1', 3));
    await cli(['run', '--once', '--log-level', 'warn', ...fixture.dbFlags, ...fixture.brokerFlags]);
    await fixture.collector.waitFor(allCommittedDelivered, 30_000);

    const listed: string[] = [];
    const dry = await admin.replay({ aggregate: { type: 'order', id: 'r-1' } }, { dryRun: true, onEvent: (event) => listed.push(event.id) });
    expect(listed).toEqual(events.map((event) => event.id));
    expect(dry).toMatchObject({ selected: 3, sent: 0, failure: null, notInHistory: [] });

    const { createRabbitPublisher } = await import('@outboxkit/rabbitmq');
    const publisher = createRabbitPublisher({ connection: fixture.brokerFlags[1]!, exchange: fixture.brokerFlags[3]! });
    const sending = await createOutboxAdmin({ database: { dialect: fixture.target.dialect, database: fixture.target.database }, broker: publisher });
    try {
      const missingId = '0190b5a0-0000-7000-8000-000000000000';
      const before = log.deliveries.length;
      const result = await sending.replay({ ids: [...events.map((event) => event.id), missingId] });
      expect(result).toMatchObject({ selected: 3, sent: 3, failure: null, notInHistory: [missingId] });
      await fixture.collector.waitFor((l) => l.deliveries.length >= before + 3, 30_000);
      const report = log.check();
      expectDeliveryOk(report);
      expect(report.duplicated.map((d) => d.id).sort()).toEqual(events.map((event) => event.id).sort());
    } finally {
      // Passed in, so closing the admin leaves both the database and the publisher open.
      await sending.close();
      expect(publisher.isConnected()).toBe(true);
      expect((await fixture.target.dialect.status(fixture.target.database)).backlog).toBe(0);
      await publisher.close();
    }
  });

  it('reconcile and cleanup from code: nothing recorded means everything missing; cleanup keeps what is within retention', async () => {
    const result = await admin.reconcile({ consumer: 'billing', since: '1h', processedIds: new Set() });
    expect(result.missing.length).toBe(result.checked);
    expect(result.checked).toBeGreaterThanOrEqual(5);
    const cleanup = await admin.cleanup({ historyRetention: '7d', inboxRetention: '1d' });
    expect(cleanup).toMatchObject({ historyDeleted: 0, warnings: [expect.objectContaining({ kind: 'inbox-retention-shorter' })] });
    expect(cleanup.historyCutoff).toBeInstanceOf(Date);
  });

  it('quarantine from code: an id that is not quarantined says so; skipping needs a reason', async () => {
    expect(await admin.listQuarantine()).toEqual([]);
    expect(await admin.retryQuarantined(['0190b5a0-0000-7000-8000-000000000001'], { by: 'ops' })).toEqual([
      { id: '0190b5a0-0000-7000-8000-000000000001', outcome: 'not-quarantined', status: null },
    ]);
    await expect(admin.skipQuarantined(['0190b5a0-0000-7000-8000-000000000001'], { by: 'ops', reason: ' ' })).rejects.toThrow(/^reason: is required for skip/);
  });
});

describe('the admin API refuses bad input naming the option', () => {
  let db: TestDatabase;
  let admin: OutboxAdmin;

  beforeAll(async () => {
    db = await createTestDatabase('SQLite');
    await cli(['migrate', '--database-url', db.url]);
    admin = await createOutboxAdmin({ database: db.url });
  });

  afterAll(async () => {
    await admin?.close();
    await db?.dispose();
  });

  it.each<[string, () => Promise<unknown>, RegExp]>([
    ['pageSize', () => admin.replay({ since: '1h' }, { pageSize: 0 }), /^pageSize: must be an integer from 1 to 10000, got 0/],
    ['ids', () => admin.replay({ ids: ['nope'] }), /^ids: "nope" is not an event id/],
    ['ids/aggregate/since', () => admin.replay({}), /say what to replay/],
    ['until', () => admin.replay({ since: '1h', until: '2h' }), /^until: .* is not after since/],
    ['consumer', () => admin.reconcile({ consumer: '', since: '1h' }), /^consumer: must be 1-255 characters/],
    ['historyRetention', () => admin.cleanup({ historyRetention: 'a week' }), /^historyRetention: "a week" is not a duration/],
    ['maxQuarantined', () => admin.health({ maxQuarantined: -1 }), /^maxQuarantined: must be a number >= 0/],
    ['maxAge', () => admin.health({ maxAge: 1 } as never), /^maxAge: unknown threshold/],
  ])('%s', async (option, call, message) => {
    const error = await Promise.resolve()
      .then(call)
      .then(
        () => null,
        (rejection: unknown) => rejection,
      );
    expect(error).toBeInstanceOf(OutboxConfigError);
    expect((error as OutboxConfigError).option).toBe(option);
    expect((error as Error).message).toMatch(message);
  });

  it('an open database with a tables option is refused (its dialect already names the tables)', async () => {
    const target = await openDatabase(db.url, { tables: {} });
    try {
      const error = await createOutboxAdmin({ database: { dialect: target.dialect, database: target.database }, tables: {} }).catch(
        (rejection: unknown) => rejection,
      );
      expect(error).toBeInstanceOf(OutboxConfigError);
      expect((error as OutboxConfigError).option).toBe('tables');
    } finally {
      await target.database.close();
    }
  });

  it('health is failed, not an exception, when the outbox cannot be read (tables missing): the reason says to migrate', async () => {
    const empty = await createTestDatabase('SQLite');
    const unmigrated = await createOutboxAdmin({ database: empty.url });
    try {
      const report = await unmigrated.health();
      expect(report.status).toBe('failed');
      expect(report.outbox).toBeNull();
      expect(report.reasons[0]).toMatch(/cannot read the outbox: the outbox tables do not exist .*run `outbox-relay migrate`/);
      const viaCli = await runCli(['health', '--database-url', empty.url]);
      expect(viaCli.code).toBe(1);
      expect(viaCli.stdout).toMatch(/health: failed/);
    } finally {
      await unmigrated.close();
      await empty.dispose();
    }
  });
});
