import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvents, type EventInput } from '@outboxkit/core';
import { openDatabase } from '@outboxkit/relay';
import { allCommittedDelivered, expectDeliveryOk, formatReport } from '@outboxkit/testkit';
import { setTimeout as sleep } from 'node:timers/promises';
import { metric, scrape, spawnRelay } from './faults/harness.js';
import { BROKER_CASES } from './support/brokers.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { runCli } from './support/relay-process.js';

describe('outbox-relay run --broker-url: broker selection and its errors', () => {
  it.each([
    [['--broker-url', 'kafka://u:s3cretpw@127.0.0.1:9092'], '--broker-url', /unknown scheme "kafka:"; supported: amqp: amqps: nats: redis: rediss:/],
    [
      ['--broker-url', 'nats://u:s3cretpw@127.0.0.1:4222', '--exchange', 'x'],
      '--exchange',
      /applies to RabbitMQ only, but --broker-url is a NATS URL \(nats:\/\/u:\*\*\*@127\.0\.0\.1:4222\)/,
    ],
    [['--broker-url', 'redis://u:s3cretpw@127.0.0.1:6379', '--subject-prefix', 'x'], '--subject-prefix', /applies to NATS only/],
    [['--broker-url', 'amqp://u:s3cretpw@127.0.0.1:5672', '--max-len', '10'], '--max-len', /applies to Redis only/],
    [['--broker-url', 'nats://u:s3cretpw@127.0.0.1:4222', '--no-create-streams'], '--no-create-streams', /applies to Redis only/],
    [['--broker-url', 'nats://127.0.0.1:4222', '--nats-stream', 'a.b'], 'stream', /is not a JetStream stream name/],
  ])('%j fails with exit code 2 naming %s, without the password', async (args, _flag, message) => {
    const result = await runCli(['run', '--database-url', 'sqlite:/tmp/okt-never-opened.db', ...args]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout + result.stderr).not.toContain('s3cretpw');
  });

  it('--help documents every broker flag and its environment variable', async () => {
    const { code, stdout } = await runCli(['run', '--help']);
    expect(code).toBe(0);
    for (const text of [
      '--broker-url',
      'OUTBOX_BROKER_URL',
      '--subject-prefix',
      'OUTBOX_NATS_STREAM',
      '--stream-prefix',
      '--max-len',
      'OUTBOX_REDIS_MAX_LEN',
      '--no-declare-stream',
      '--no-create-streams',
      '--publish-timeout-ms',
    ]) {
      expect(stdout).toContain(text);
    }
  });
});

describe.each(BROKER_CASES)('outbox-relay end to end on $name', (broker) => {
  describe.each(DATABASE_KINDS)('with %s', (kind) => {
    let db: TestDatabase;

    beforeAll(async () => {
      db = await createTestDatabase(kind);
    });

    afterAll(async () => {
      await db?.dispose();
    });

    it('delivers every committed event in per-aggregate order and reports outbox_broker_up', async () => {
      const url = await broker.url();
      const dbFlags = ['--database-url', db.url, ...(db.schema ? ['--schema', db.schema] : [])];
      expect((await runCli(['migrate', ...dbFlags])).code).toBe(0);
      const { flags, collector } = await broker.isolate(url);
      const relay = spawnRelay({ databaseUrl: db.url, schema: db.schema, brokerUrl: url, relayId: 'e2e', extra: flags });
      const target = await openDatabase(db.url, { tables: db.schema ? { schema: db.schema } : {} });
      try {
        const port = await relay.metricsPort();
        const queue = Array.from({ length: 400 }, (_, i) => i);
        const writer = async (): Promise<void> => {
          for (let n = queue.shift(); n !== undefined; n = queue.shift()) {
            const event: EventInput = { aggregateType: 'account', aggregateId: `acc-${n % 40}`, type: 'account.credited', payload: { n } };
            const [written] = await target.database.transaction((tx) => writeEvents(target.dialect, tx, event));
            collector.log.attempted(written!, 'committed');
          }
        };
        await Promise.all(Array.from({ length: 4 }, writer));
        await collector.waitFor(allCommittedDelivered, 120_000);
        const report = collector.log.check();
        console.log(formatReport(report, `outbox-relay on ${kind} -> ${broker.name}: 40 aggregates x 10 events`));
        expect(report.duplicateDeliveries).toBe(0);
        expect(report.orderViolations).toEqual([]);
        expect(report.withoutSequence).toBe(0);
        expectDeliveryOk(report);
        expect(metric(await scrape(port), 'outbox_broker_up')).toBe(1);
        expect(await relay.stop('SIGTERM')).toBe(0);
        expect(relay.output()).not.toMatch(/"level":50/);
      } finally {
        await relay.stop('SIGKILL');
        await target.database.close();
        await collector.close();
      }
    }, 180_000);
  });
});

describe.each(BROKER_CASES)('outbox-relay replay through $name (SQLite)', (broker) => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('SQLite');
  });

  afterAll(async () => {
    await db?.dispose();
  });

  it("lists the destination in the broker's terms, then re-delivers the window with the original ids", async () => {
    const url = await broker.url();
    const dbFlags = ['--database-url', db.url];
    expect((await runCli(['migrate', ...dbFlags])).code).toBe(0);
    // A one-second duplicate window, so JetStream takes the replay once the window has passed.
    const { flags, collector } = await broker.isolate(url, { duplicateWindowMs: 1000 });
    const brokerFlags = ['--broker-url', url, ...flags];
    const target = await openDatabase(db.url, { tables: {} });
    try {
      const written = [];
      for (let n = 0; n < 6; n++) {
        const event: EventInput = { aggregateType: 'account', aggregateId: `acc-${n % 2}`, type: 'account.credited', payload: { n } };
        const [stored] = await target.database.transaction((tx) => writeEvents(target.dialect, tx, event));
        collector.log.attempted(stored!, 'committed');
        written.push(stored!);
      }
      expect((await runCli(['run', '--once', '--log-level', 'warn', ...dbFlags, ...brokerFlags])).code).toBe(0);
      await collector.waitFor(allCommittedDelivered, 30_000);

      const dry = await runCli(['replay', '--since', '1h', '--dry-run', ...dbFlags, ...brokerFlags]);
      expect(dry.code).toBe(0);
      const prefix = flags[1]!;
      const where = broker.name === 'NATS JetStream' ? `subject ${prefix}.account.account.credited` : `stream ${prefix}:account`;
      expect(dry.stdout).toContain(`${written[0]!.id}  account:acc-0  #1  account.credited  -> ${where}`);
      expect(dry.stdout).toMatch(/dry run: 6 event\(s\) of 2 aggregate\(s\) would be replayed; nothing was sent/);

      await sleep(1500); // past the duplicate window
      const replay = await runCli(['replay', '--since', '1h', ...dbFlags, ...brokerFlags]);
      expect(replay.code).toBe(0);
      expect(replay.stdout).toMatch(/replayed 6 event\(s\) of 2 aggregate\(s\) with their original ids/);
      if (broker.name === 'NATS JetStream') expect(replay.stderr).toMatch(/JetStream drops a message whose Nats-Msg-Id/);
      await collector.waitFor((log) => log.deliveries.length >= 12, 30_000);
      const report = collector.log.check();
      expectDeliveryOk(report);
      expect(report.orderViolations).toEqual([]);
      expect(report.duplicated.map((d) => d.id).sort()).toEqual(written.map((event) => event.id).sort());
      expect(report.duplicated.every((d) => d.count === 2)).toBe(true);
    } finally {
      await target.database.close();
      await collector.close();
    }
  }, 120_000);
});
