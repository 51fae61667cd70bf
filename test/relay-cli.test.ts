import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvents, type EventInput, type OutboxStatus } from '@outboxkit/core';
import { openDatabase } from '@outboxkit/relay';
import {
  allCommittedDelivered,
  collectQueue,
  DeliveryLog,
  expectDeliveryOk,
  formatReport,
  serviceUrl,
  uniqueName,
  type QueueCollector,
} from '@outboxkit/testkit';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { runCli, startRelay, type RelayProcess } from './support/relay-process.js';

describe('outbox-relay: configuration errors', () => {
  it.each([
    [['run'], /--database-url: is required/],
    [['status', '--database-url', 'redis://u:s3cretpw@h/0'], /unknown scheme "redis:"/],
    [['status', '--database-url', 'not a url s3cretpw'], /is not a URL/],
    [['migrate', '--database-url', 'postgres://u:s3cretpw@127.0.0.1:5432/test', '--schema', 'x"; DROP TABLE t;--'], /--schema: .* is not a valid identifier/],
    [['migrate', '--database-url', 'sqlite:/tmp/x.db', '--table-prefix', 'a b'], /--table-prefix: /],
    [['run', '--database-url', 'postgres://u:s3cretpw@127.0.0.1:5432/test', '--batch-size', '0'], /--batch-size: must be an integer from 1 to 10000/],
  ])('%j fails with exit code 2, a message naming the problem, and no password', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout + result.stderr).not.toContain('s3cretpw');
  });

  it('never shows the password of a database it cannot reach', async () => {
    const result = await runCli(['status', '--database-url', 'postgres://app:s3cretpw@127.0.0.1:1/app']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ECONNREFUSED|connect/);
    expect(result.stdout + result.stderr).not.toContain('s3cretpw');
  });

  it('--help is there for every command', async () => {
    for (const command of ['run', 'migrate', 'status']) {
      const result = await runCli([command, '--help']);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('--database-url');
    }
  });
});

describe.each(DATABASE_KINDS)('outbox-relay on %s', (kind) => {
  let db: TestDatabase;
  let dbFlags: string[];
  let brokerUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    dbFlags = ['--database-url', db.url, ...(db.schema ? ['--schema', db.schema] : [])];
    brokerUrl = await serviceUrl('rabbitmq');
  });

  afterAll(async () => {
    await db?.dispose();
  });

  it('migrate is idempotent and --print prints plain SQL without connecting', async () => {
    const printed = await runCli(['migrate', '--print', ...dbFlags]);
    expect(printed.code).toBe(0);
    expect(printed.stdout).toMatch(/CREATE TABLE IF NOT EXISTS .*outbox_events/);
    const first = await runCli(['migrate', ...dbFlags]);
    expect(first.stderr).toBe('');
    expect(first.stdout).toMatch(/applied migration\(s\) 1/);
    const second = await runCli(['migrate', ...dbFlags]);
    expect(second.stdout).toMatch(/schema is up to date/);
  });

  it('two relay processes split the shards and together deliver everything, in order, exactly once', async () => {
    const exchange = uniqueName('okt_x');
    const log = new DeliveryLog();
    const collector: QueueCollector = await collectQueue({
      url: brokerUrl,
      queue: uniqueName('okt_q'),
      declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
      log,
    });
    const relayFlags = [
      ...dbFlags,
      '--broker-url',
      brokerUrl,
      '--exchange',
      exchange,
      '--poll-interval-ms',
      '100',
      '--lease-ttl-ms',
      '2000',
      '--log-level',
      'warn',
    ];
    const relays: RelayProcess[] = [startRelay([...relayFlags, '--relay-id', 'cli-a']), startRelay([...relayFlags, '--relay-id', 'cli-b'])];
    const target = await openDatabase(db.url, { tables: db.schema ? { schema: db.schema } : {} });
    try {
      const owners = await waitForStatus(dbFlags, (s) => s.shardOwners.length === 2 && s.shardOwners.every((o) => o.shards === 32));
      expect(owners.shardOwners.map((o) => o.owner).sort()).toEqual(['cli-a', 'cli-b']);

      // 100 aggregates x 20 events from 4 concurrent writers in this process.
      const queue = Array.from({ length: 2000 }, (_, i) => i % 100);
      const writer = async (): Promise<void> => {
        for (let a = queue.shift(); a !== undefined; a = queue.shift()) {
          const event: EventInput = { aggregateType: 'account', aggregateId: `acc-${a}`, type: 'account.credited', payload: { a } };
          const [written] = await target.database.transaction((tx) => writeEvents(target.dialect, tx, event));
          log.attempted(written!, 'committed');
        }
      };
      await Promise.all(Array.from({ length: 4 }, writer));
      await collector.waitFor(allCommittedDelivered, 120_000);
      const report = log.check();
      console.log(formatReport(report, `${kind}: two outbox-relay processes, 100 aggregates x 20 events`));
      expect(report.duplicateDeliveries).toBe(0);
      expect(report.orderViolations).toEqual([]);
      expectDeliveryOk(report);

      const codes = await Promise.all(relays.map((relay) => relay.stop('SIGTERM')));
      expect(codes).toEqual([0, 0]);
      const after = await status(dbFlags);
      expect(after).toMatchObject({ backlog: 0, shardOwners: [] });
      for (const relay of relays) expect(relay.output()).not.toMatch(/SQLITE_BUSY|"level":50/);
    } finally {
      await Promise.all(relays.map((relay) => relay.stop('SIGKILL')));
      await target.database.close();
      await collector.close();
    }
  }, 180_000);
});

async function status(dbFlags: readonly string[]): Promise<OutboxStatus> {
  const result = await runCli(['status', '--json', ...dbFlags]);
  if (result.code !== 0) throw new Error(`status failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as OutboxStatus;
}

async function waitForStatus(dbFlags: readonly string[], ok: (status: OutboxStatus) => boolean, timeoutMs = 30_000): Promise<OutboxStatus> {
  const deadline = Date.now() + timeoutMs;
  let last: OutboxStatus | undefined;
  while (Date.now() < deadline) {
    last = await status(dbFlags);
    if (ok(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`status never matched; last: ${JSON.stringify(last)}`);
}

describe('outbox-relay run: publisher flags', () => {
  let db: TestDatabase;
  let dbFlags: string[];

  beforeAll(async () => {
    db = await createTestDatabase('PostgreSQL');
    dbFlags = ['--database-url', db.url, '--schema', db.schema!];
    expect((await runCli(['migrate', ...dbFlags])).code).toBe(0);
  });

  afterAll(async () => {
    await db?.dispose();
  });

  it('--max-message-bytes quarantines an oversized event; with --no-declare-exchange a missing exchange is a permanent invalid-destination', async () => {
    const brokerUrl = await serviceUrl('rabbitmq');
    const target = await openDatabase(db.url, { tables: { schema: db.schema! } });
    try {
      await target.database.transaction((tx) =>
        writeEvents(target.dialect, tx, [{ aggregateType: 'doc', aggregateId: 'big', type: 'doc.saved', payload: { text: 'x'.repeat(500) } }]),
      );
      // An exchange nobody declared: with --no-declare-exchange every publish fails permanently.
      const missing = uniqueName('okt_missing_x');
      const once = ['run', '--once', ...dbFlags, '--broker-url', brokerUrl, '--max-attempts', '1', '--log-level', 'silent'];
      const oversized = await runCli([...once, '--exchange', missing, '--no-declare-exchange', '--max-message-bytes', '200']);
      expect(oversized.code).toBe(0);
      const status = await waitForStatus(dbFlags, (s) => s.quarantined === 1);
      expect(status).toMatchObject({ backlog: 0, quarantined: 1, parkedAggregates: 1 });
      const listed = await runCli(['quarantine', 'list', '--json', ...dbFlags]);
      expect(listed.stdout).toMatch(/too-large/);

      await target.database.transaction((tx) =>
        writeEvents(target.dialect, tx, [{ aggregateType: 'doc', aggregateId: 'small', type: 'doc.saved', payload: {} }]),
      );
      const undeclared = await runCli([...once, '--exchange', missing, '--no-declare-exchange']);
      expect(undeclared.code).toBe(0);
      const after = await waitForStatus(dbFlags, (s) => s.quarantined === 2);
      expect(after.backlog).toBe(0);
      const reasons = await runCli(['quarantine', 'list', '--json', ...dbFlags]);
      expect(reasons.stdout).toMatch(/invalid-destination/);
    } finally {
      await target.database.close();
    }
  }, 120_000);
});
