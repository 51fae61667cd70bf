import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseTarget } from '@outboxkit/relay';
import { allCommittedDelivered, DeliveryLog, expectDeliveryOk, type QueueCollector } from '@outboxkit/testkit';
import { DATABASE_KINDS } from './support/databases.js';
import { cli, eventsOf, UUID_LINE, writeCommitted, operationsFixture, type OperationsFixture } from './support/operations-helpers.js';

describe.each(DATABASE_KINDS)('outbox-relay replay on %s', (kind) => {
  let dbFlags: string[];
  let brokerFlags: string[];
  let target: DatabaseTarget;
  let collector: QueueCollector;
  const log = new DeliveryLog();

  let fixture: OperationsFixture | undefined;

  beforeAll(async () => {
    fixture = await operationsFixture(kind, 'okt_replay', log);
    ({ dbFlags, brokerFlags, target, collector } = fixture);
  });

  afterAll(async () => {
    await fixture?.dispose();
  });

  it('re-delivers a time range with the original ids, per aggregate in sequence order; --dry-run sends nothing', async () => {
    const run = (): Promise<unknown> => cli(['run', '--once', '--log-level', 'warn', ...dbFlags, ...brokerFlags]);

    // Batch A is published before `since`, batch B inside [since, until), C after `until`.
    const a = await writeCommitted(target, log, [...eventsOf('order', 'a-1', 3), ...eventsOf('order', 'a-2', 3)]);
    await run();
    await collector.waitFor(allCommittedDelivered, 30_000);
    const since = await target.dialect.currentTime(target.database);
    const b = await writeCommitted(target, log, [...eventsOf('order', 'b-1', 4), ...eventsOf('invoice', 'b-2', 4), ...eventsOf('order', 'b-1', 3)]);
    await run();
    await collector.waitFor(allCommittedDelivered, 30_000);
    const until = new Date((await target.dialect.currentTime(target.database)).getTime() + 1);
    const window = ['--since', since.toISOString(), '--until', until.toISOString()];

    const dry = await cli(['replay', '--dry-run', ...window, ...dbFlags, ...brokerFlags]);
    const listed = dry.stdout.split('\n').filter((line) => UUID_LINE.test(line));
    expect(listed.map((line) => line.slice(0, 36))).toEqual(b.map((event) => event.id)); // position order
    expect(listed[0]).toMatch(new RegExp(`^${b[0]!.id}  order:b-1  #1  order\\.changed  -> okt_replay_x\\S*/order\\.changed$`));
    expect(dry.stdout).toMatch(/dry run: 11 event\(s\) of 2 aggregate\(s\) would be replayed; nothing was sent/);

    // A dry run that sent anything would have sent it before this sentinel event existed, and
    // the queue is FIFO: once the sentinel arrived, everything the dry run sent would be here.
    const [sentinel] = await writeCommitted(target, log, eventsOf('order', 'c-1', 1));
    await run();
    await collector.waitFor(allCommittedDelivered, 30_000);
    expect(log.deliveries.at(-1)?.id).toBe(sentinel!.id);
    expect(log.check().duplicateDeliveries).toBe(0);
    const before = log.deliveries.length;
    expect(before).toBe(a.length + b.length + 1);

    // Pages of 4 rows: aggregate order must hold across page boundaries too.
    const replay = await cli(['replay', ...window, '--page-size', '4', ...dbFlags, ...brokerFlags]);
    expect(replay.stdout).toMatch(/replayed 11 event\(s\) of 2 aggregate\(s\) with their original ids/);
    expect(replay.stderr).toMatch(/replay: \d+ read, \d+ sent/);
    await collector.waitFor((l) => l.deliveries.length >= before + b.length, 30_000);

    const report = log.check();
    expectDeliveryOk(report);
    // Exactly batch B came again, each once more, with the original ids the inbox dedupes on.
    expect(report.duplicated.map((d) => d.id).sort()).toEqual(b.map((event) => event.id).sort());
    expect(report.duplicated.every((d) => d.count === 2)).toBe(true);
    const replayed = log.deliveries.slice(before);
    for (const aggregate of ['b-1', 'b-2']) {
      const sequences = replayed.filter((d) => d.aggregateId === aggregate).map((d) => d.sequence);
      expect(sequences).toEqual([...sequences].sort((x, y) => x! - y!));
      expect(sequences.length).toBe(aggregate === 'b-1' ? 7 : 4);
    }
  });

  it('replays one aggregate or single ids, and says which ids are not in history', async () => {
    const events = await writeCommitted(target, log, eventsOf('order', 'd-1', 2));
    await cli(['run', '--once', '--log-level', 'warn', ...dbFlags, ...brokerFlags]);
    await collector.waitFor(allCommittedDelivered, 30_000);

    const byAggregate = await cli(['replay', '--aggregate', 'order:d-1', '--dry-run', ...dbFlags, ...brokerFlags]);
    expect(
      byAggregate.stdout
        .split('\n')
        .filter((l) => UUID_LINE.test(l))
        .map((l) => l.slice(0, 36)),
    ).toEqual(events.map((e) => e.id));

    const unknown = '0190b5a0-0000-7000-8000-000000000000';
    const byId = await cli(['replay', '--id', events[1]!.id, unknown, '--dry-run', ...dbFlags, ...brokerFlags], 1);
    expect(byId.stdout).toContain(events[1]!.id);
    expect(byId.stdout).toMatch(/dry run: 1 event\(s\)/);
    expect(byId.stderr).toContain(`not in the history table: ${unknown}`);

    const bad = await cli(['replay', '--since', 'yesterday-ish', ...dbFlags], 2);
    expect(bad.stderr).toMatch(/--since: "yesterday-ish" is not a time/);
    const nothing = await cli(['replay', ...dbFlags], 2);
    expect(nothing.stderr).toMatch(/--id\/--aggregate\/--since: say what to replay/);
  });
});
