import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvents, type OutboxStatus } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
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
import { startRabbitNode, type RabbitNode } from '../packages/testkit/src/servers/index.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { waitFor } from './support/inbox-helpers.js';
import { runCli, startRelay, type RelayProcess } from './support/relay-process.js';

// Issue 19, item 4: a relay that cannot reach its broker (a wrong password, a closed port) warns
// at start with the reason and holds no shards, so a healthy relay on the same database takes
// them all and publishes everything; once its broker is back, it rejoins and takes its share.

const SECRET = 's3cretpw-not-for-logs';
const WARNED_AT_START = /broker unavailable at start: (.+?)\. This relay holds no shards until it can publish/;

describe('a relay that cannot reach its broker (PostgreSQL)', () => {
  let db: TestDatabase;
  let dbFlags: string[];
  let writer: DatabaseTarget;
  let sharedUrl: string;
  const relays: RelayProcess[] = [];
  const collectors: QueueCollector[] = [];
  let node: RabbitNode | undefined;

  beforeAll(async () => {
    sharedUrl = await serviceUrl('rabbitmq');
    db = await createTestDatabase('PostgreSQL');
    dbFlags = ['--database-url', db.url, '--schema', db.schema!];
    writer = await openDatabase(db.url, { tables: { schema: db.schema! } });
    await writer.dialect.migrate(writer.database);
  });

  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.stop('SIGKILL')));
    for (const collector of collectors) await collector.close().catch(() => undefined);
    await writer?.database.close();
    await node?.dispose();
    await db?.dispose();
  }, 90_000);

  function relay(id: string, brokerUrl: string, exchange: string): RelayProcess {
    const started = startRelay([
      ...dbFlags,
      '--broker-url',
      brokerUrl,
      '--exchange',
      exchange,
      '--relay-id',
      id,
      '--poll-interval-ms',
      '100',
      '--lease-ttl-ms',
      '2000',
      '--log-level',
      'info',
    ]);
    relays.push(started);
    return started;
  }

  async function collector(url: string, exchange: string, log: DeliveryLog): Promise<QueueCollector> {
    const created = await collectQueue({
      url,
      queue: uniqueName('okt_q'),
      declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
      log,
    });
    collectors.push(created);
    return created;
  }

  async function write(log: DeliveryLog, count: number, tag: string): Promise<void> {
    for (let i = 0; i < count; i++) {
      const [written] = await writer.database.transaction((tx) =>
        writeEvents(writer.dialect, tx, { aggregateType: 'account', aggregateId: `acc-${i % 20}`, type: 'account.credited', payload: { tag, i } }),
      );
      log.attempted(written!, 'committed');
    }
  }

  /** The first start-up warning of a relay's JSON log. */
  async function startWarning(relayProcess: RelayProcess): Promise<{ level: number; shardsReleased: number; reason: string }> {
    await waitFor('the start-up warning', async () => WARNED_AT_START.test(relayProcess.output()));
    const line = relayProcess
      .output()
      .split('\n')
      .find((text) => WARNED_AT_START.test(text))!;
    const parsed = JSON.parse(line) as { level: number; shardsReleased: number; msg: string };
    return { level: parsed.level, shardsReleased: parsed.shardsReleased, reason: WARNED_AT_START.exec(parsed.msg)![1]! };
  }

  it('a wrong password: warned at start with ACCESS_REFUSED, no shards, and the healthy relay publishes everything', async () => {
    const exchange = uniqueName('okt_x');
    const log = new DeliveryLog();
    const collected = await collector(sharedUrl, exchange, log);
    const wrong = new URL(sharedUrl);
    wrong.password = SECRET;
    const broken = relay('broken', wrong.toString(), exchange);
    const warning = await startWarning(broken);
    expect(warning.level).toBe(40);
    expect(warning.shardsReleased).toBe(0);
    expect(warning.reason).toContain('ACCESS_REFUSED');

    const healthy = relay('healthy', sharedUrl, exchange);
    await waitForOwners((owners) => owners.length === 1 && owners[0]!.owner === 'healthy' && owners[0]!.shards === 64);
    await write(log, 200, 'wrong-password');
    await collected.waitFor(allCommittedDelivered, 60_000);
    const report = log.check();
    console.log(formatReport(report, 'wrong broker password: the healthy relay publishes everything'));
    expectDeliveryOk(report);
    expect(report.duplicateDeliveries).toBe(0);
    // The broken relay never joined: it sent no heartbeat and holds nothing.
    expect((await status()).shardOwners).toEqual([expect.objectContaining({ owner: 'healthy', shards: 64 })]);

    expect(await Promise.all([broken.stop(), healthy.stop()])).toEqual([0, 0]);
    expect(broken.output()).not.toContain(SECRET);
  }, 120_000);

  it('a stopped broker (closed port): warned at start, the healthy relay takes every shard, and the relay rejoins once its broker is back', async () => {
    node = await startRabbitNode();
    const exchange = uniqueName('okt_x');
    const log = new DeliveryLog();
    // Durable queue and exchange on the private node, declared while it is up: they outlive the stop.
    const onNode = await collector(node.url, exchange, log);
    const onShared = await collector(sharedUrl, exchange, log);
    await node.stop();

    const returning = relay('returning', node.url, exchange);
    const warning = await startWarning(returning);
    expect(warning.reason).toMatch(/ECONNREFUSED|no connection to the broker within/);
    const healthy = relay('healthy', sharedUrl, exchange);
    await waitForOwners((owners) => owners.length === 1 && owners[0]!.owner === 'healthy' && owners[0]!.shards === 64);
    await write(log, 100, 'while-down');
    await onShared.waitFor((records) => records.deliveries.length >= 100, 60_000);

    await node.start();
    await waitFor('the rejoin', async () => /broker reachable again: rejoining the relay group/.test(returning.output()));
    await waitForOwners((owners) => owners.length === 2 && owners.every((owner) => owner.shards === 32));
    await write(log, 200, 'after-return');
    await waitFor('every committed event on one broker or the other', async () => allCommittedDelivered(log), 60_000);
    const report = log.check();
    console.log(formatReport(report, 'broker back: the returning relay rejoins'));
    expectDeliveryOk(report);
    // Both relays published after the rejoin.
    expect(onNode.messages.length).toBeGreaterThan(0);
    expect(onShared.messages.length).toBeGreaterThan(100);

    expect(await Promise.all([returning.stop(), healthy.stop()])).toEqual([0, 0]);
  }, 180_000);

  async function status(): Promise<OutboxStatus> {
    const result = await runCli(['status', '--json', ...dbFlags]);
    if (result.code !== 0) throw new Error(`status failed: ${result.stderr}`);
    return JSON.parse(result.stdout) as OutboxStatus;
  }

  async function waitForOwners(ok: (owners: OutboxStatus['shardOwners']) => boolean): Promise<void> {
    let last: OutboxStatus | undefined;
    await waitFor('the shard owners', async () => {
      // One `status` process at a time, five a second.
      await new Promise((resolve) => setTimeout(resolve, 200));
      last = await status();
      return ok(last.shardOwners);
    }).catch((error: Error) => {
      throw new Error(`${error.message}; last: ${JSON.stringify(last?.shardOwners)}`);
    });
  }
});
