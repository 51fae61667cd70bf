import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import type { InboxDialect } from '@outboxkit/core';
import type { DatabaseTarget } from '@outboxkit/relay';
import { allCommittedDelivered, DeliveryLog, uniqueName, type QueueCollector } from '@outboxkit/testkit';
import { DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { runCli } from './support/relay-process.js';
import { backdate, cli, eventsOf, tableName, UUID_LINE, writeCommitted, operationsFixture, type OperationsFixture } from './support/operations-helpers.js';

describe.each(DATABASE_KINDS)('outbox-relay reconcile and cleanup on %s', (kind) => {
  let db: TestDatabase;
  let dbFlags: string[];
  let brokerFlags: string[];
  let target: DatabaseTarget;
  let collector: QueueCollector;
  const log = new DeliveryLog();

  let fixture: OperationsFixture | undefined;

  beforeAll(async () => {
    fixture = await operationsFixture(kind, 'okt_rec', log);
    ({ db, dbFlags, brokerFlags, target, collector } = fixture);
  });

  afterAll(async () => {
    await fixture?.dispose();
  });

  const publishAll = async (): Promise<void> => {
    await cli(['run', '--once', '--log-level', 'warn', ...dbFlags, ...brokerFlags]);
    await collector.waitFor(allCommittedDelivered, 30_000);
  };
  const idLines = (stdout: string): string[] => stdout.split('\n').filter((line) => UUID_LINE.test(line));

  it('reconcile finds exactly the ids missing from an ids file, and --replay re-sends exactly those', async () => {
    const since = await target.dialect.currentTime(target.database);
    const events = await writeCommitted(target, log, [...eventsOf('order', 'r-1', 4), ...eventsOf('order', 'r-2', 3)]);
    await publishAll();
    const missing = [events[1]!, events[5]!];
    const file = join(tmpdir(), `${uniqueName('okt_ids')}.txt`);
    // What a consumer's export may look like: a comment, blank lines, upper case.
    const exported = events.filter((event) => !missing.includes(event)).map((event, i) => (i === 0 ? event.id.toUpperCase() : event.id));
    writeFileSync(file, ['# billing inbox export', ...exported, '', ''].join('\n'));
    onTestFinished(() => rmSync(file, { force: true }));
    const window = ['--since', since.toISOString()];

    const found = await cli(['reconcile', '--consumer', 'billing', ...window, '--ids-file', file, ...dbFlags]);
    expect(idLines(found.stdout)).toEqual(missing.map((event) => event.id));
    expect(found.stdout).toMatch(/2 of 7 event\(s\) published .* missing from consumer "billing" \(compared with 5 id\(s\) from --ids-file\)/);

    const before = log.deliveries.length;
    const replayed = await cli(['reconcile', '--consumer', 'billing', ...window, '--ids-file', file, '--replay', ...dbFlags, ...brokerFlags]);
    expect(replayed.stdout).toMatch(/; 2 replayed/);
    await collector.waitFor((l) => l.deliveries.length >= before + 2, 30_000);
    // Replayed events go before a sentinel published afterwards; nothing else came again.
    const [sentinel] = await writeCommitted(target, log, eventsOf('order', 'r-3', 1));
    await publishAll();
    expect(log.deliveries.slice(before).map((d) => d.id)).toEqual([...missing.map((event) => event.id), sentinel!.id]);
    expect(
      log
        .check()
        .duplicated.map((d) => d.id)
        .sort(),
    ).toEqual(missing.map((event) => event.id).sort());
  });

  it("reconcile reads the consumer's inbox table when it is in the same database", async () => {
    const since = await target.dialect.currentTime(target.database);
    const events = await writeCommitted(target, log, eventsOf('invoice', 'i-1', 5));
    await publishAll();
    const inbox = target.dialect as unknown as InboxDialect;
    await target.database.transaction(async (tx) => {
      for (const event of [events[0]!, events[2]!, events[4]!]) await inbox.inboxInsert(tx, 'shipping', event.id);
    });
    const result = await cli(['reconcile', '--consumer', 'shipping', '--since', since.toISOString(), ...dbFlags]);
    expect(idLines(result.stdout)).toEqual([events[1]!.id, events[3]!.id]);
    expect(result.stdout).toMatch(/2 of 5 event\(s\) published .* missing from consumer "shipping"'s inbox/);
    const other = await cli(['reconcile', '--consumer', 'nobody', '--since', since.toISOString(), ...dbFlags]);
    expect(idLines(other.stdout)).toEqual(events.map((event) => event.id));
  });

  it('cleanup removes only rows older than the retention, also with two cleanups running at once', async () => {
    const events = await writeCommitted(target, log, Array.from({ length: 12 }, (_, i) => eventsOf('ledger', `l-${i % 4}`, 4)).flat());
    await publishAll();
    const inbox = target.dialect as unknown as InboxDialect;
    await target.database.transaction(async (tx) => {
      for (const event of events.slice(0, 10)) await inbox.inboxInsert(tx, 'cleanup-test', event.id);
    });
    // Everything published so far (earlier tests included) becomes 10 days old, except the
    // last 8 events; inbox rows become 20 days old except 4.
    const keep = events.slice(-8).map((event) => event.id);
    const kept = keep.map((id) => `'${id}'`).join(', ');
    await target.database.query(backdate(db, 'outbox_published', 'published_at', 10, `id NOT IN (${kept})`));
    await target.database.query(
      backdate(
        db,
        'outbox_inbox',
        'processed_at',
        20,
        `message_id IN (${events
          .slice(0, 6)
          .map((e) => `'${e.id}'`)
          .join(', ')})`,
      ),
    );
    const countRows = async (table: 'outbox_published' | 'outbox_inbox', where = '1 = 1'): Promise<number> =>
      Number((await target.database.query<{ n: unknown }>(`SELECT count(*) AS n FROM ${tableName(db, table)} WHERE ${where}`)).rows[0]!.n);
    const oldHistory = (await countRows('outbox_published')) - keep.length;
    expect(oldHistory).toBeGreaterThan(40);

    // Small batches so both instances really interleave on the same rows.
    const flags = ['cleanup', '--history-retention', '7d', '--inbox-retention', '14d', '--batch-size', '3', ...dbFlags];
    const [first, second] = await Promise.all([runCli(flags), runCli(flags)]);
    for (const result of [first, second]) {
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(/^cleanup: deleted \d+ history row\(s\) published before \S+ and \d+ inbox row\(s\) processed before \S+$/m);
    }
    const deleted = (stdout: string, what: string): number => Number(new RegExp(`(\\d+) ${what} row`).exec(stdout)![1]);
    expect(deleted(first!.stdout, 'history') + deleted(second!.stdout, 'history')).toBe(oldHistory);
    expect(deleted(first!.stdout, 'inbox') + deleted(second!.stdout, 'inbox')).toBe(6);

    const remaining = await target.database.query<{ id: string }>(`SELECT id FROM ${tableName(db, 'outbox_published')} ORDER BY position`);
    expect(remaining.rows.map((row) => row.id)).toEqual(keep);
    expect(await countRows('outbox_inbox', "consumer = 'cleanup-test'")).toBe(4);
    const again = await cli(flags);
    expect(again.stdout).toMatch(/deleted 0 history row\(s\) .* and 0 inbox row\(s\)/);

    const shortInbox = await cli(['cleanup', '--history-retention', '30d', '--inbox-retention', '1d', ...dbFlags]);
    expect(shortInbox.stderr).toMatch(/--inbox-retention is shorter than --history-retention/);
    const bad = await cli(['cleanup', '--history-retention', 'a week', ...dbFlags], 2);
    expect(bad.stderr).toMatch(/--history-retention: "a week" is not a duration/);
  });
});
