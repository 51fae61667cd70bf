// A write whose statement fails after the aggregate's sequence was bumped (a duplicate event id:
// the database refuses the event row) must leave nothing behind, even when the caller swallows
// the error and commits: MySQL/MariaDB and SQLite undo only the failed statement by themselves.
import { afterEach, describe, expect, it } from 'vitest';
import { writeEvents, type EventInput } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';

const event = (aggregateId: string, extra: Partial<EventInput> = {}): EventInput => ({
  aggregateType: 'account',
  aggregateId,
  type: 'account.credited',
  payload: { aggregateId },
  ...extra,
});

describe.each(DATABASE_KINDS)('a failed write leaves nothing behind (%s)', (kind) => {
  let db: TestDatabase | undefined;
  let target: DatabaseTarget | undefined;
  afterEach(async () => {
    await target?.database.close();
    await db?.dispose();
    target = undefined;
    db = undefined;
  });

  it("the caller commits after a write failed mid-way; the aggregates' next events get sequence 1 and no row of the failed write remains", async () => {
    db = await createTestDatabase(kind);
    target = await openDatabase(db.url, { tables: db.schema ? { schema: db.schema } : {} });
    const { dialect, database } = target;
    await dialect.migrate(database);
    const [existing] = await database.transaction((tx) => writeEvents(dialect, tx, event('a-existing')));

    // Two events: the first is inserted, the second's sequence is bumped and then its row is
    // refused (its id is already taken). The caller swallows the error and commits.
    let writeError: unknown;
    const committed = database.transaction(async (tx) => {
      await writeEvents(dialect, tx, [event('a-first'), event('a-second', { id: existing!.id })]).catch((error: unknown) => {
        writeError = error;
      });
    });
    // PostgreSQL aborts the whole transaction on a failed statement: the commit is refused (and rolls back).
    if (kind === 'PostgreSQL') await expect(committed).rejects.toMatchObject({ code: 'OUTBOX_TRANSACTION_ABORTED' });
    else await committed;
    expect(String((writeError as Error | undefined)?.message), 'the database refused the duplicate id').toMatch(/duplicate|unique/i);

    const next = await database.transaction((tx) => writeEvents(dialect, tx, [event('a-first'), event('a-second')]));
    expect(next.map((e) => e.sequence)).toEqual([1, 1]);
    const { rows } = await database.query<{ aggregate_id: string; sequence: unknown }>(
      `SELECT aggregate_id, sequence FROM ${qualified(target, 'events')} ORDER BY position`,
    );
    expect(rows.map((row) => [row.aggregate_id, Number(row.sequence)])).toEqual([
      ['a-existing', 1],
      ['a-first', 1],
      ['a-second', 1],
    ]);
  });
});

function qualified(target: DatabaseTarget, name: 'events'): string {
  const { schema, names } = target.dialect.tables;
  if (schema === null) return `"${names[name]}"`;
  return target.dialect.name === 'postgres' ? `"${schema}"."${names[name]}"` : `\`${schema}\`.\`${names[name]}\``;
}
