import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyInboxEvent, OutboxConfigError, pruneInbox, type InboxEvent } from '@outboxkit/core';
import { createInboxConsumer } from '@outboxkit/rabbitmq';
import { openInboxDb, type InboxTestDb } from './fixtures/inbox-db.mjs';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';

describe.each(DATABASE_KINDS)('inbox dialect on %s', (kind) => {
  let database: TestDatabase;
  let inbox: InboxTestDb;

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    inbox = await openInboxDb(kind, database.url, database.schema);
  });
  afterAll(async () => {
    await inbox?.close();
    await database?.dispose();
  });

  it('inboxInsert is true once per (consumer, id), and per consumer', async () => {
    const { db, dialect } = inbox;
    expect(await db.transaction((tx) => dialect.inboxInsert(tx, 'a', 'id-1'))).toBe(true);
    expect(await db.transaction((tx) => dialect.inboxInsert(tx, 'a', 'id-1'))).toBe(false);
    expect(await db.transaction((tx) => dialect.inboxInsert(tx, 'b', 'id-1'))).toBe(true);
    expect((await dialect.inboxContains(db, 'a', ['id-1', 'id-2'])).sort()).toEqual(['id-1']);
    expect(await dialect.inboxContains(db, 'a', [])).toEqual([]);
  });

  it('a duplicate insert does not abort the transaction, and a rolled back insert leaves nothing', async () => {
    const { db, dialect } = inbox;
    await db.transaction(async (tx) => {
      expect(await dialect.inboxInsert(tx, 'tx', 'id-1')).toBe(true);
      expect(await dialect.inboxInsert(tx, 'tx', 'id-1')).toBe(false);
      await inbox.insertEffect(tx, 'tx-effect', 'after the duplicate');
    });
    expect(await inbox.effectCount('tx-effect')).toBe(1);
    await expect(
      db.transaction(async (tx) => {
        await dialect.inboxInsert(tx, 'tx', 'id-2');
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await dialect.inboxContains(db, 'tx', ['id-2'])).toEqual([]);
  });

  it('a second transaction inserting the same id waits for the first and then sees a duplicate', async () => {
    const { db, dialect } = inbox;
    let commitFirst!: () => void;
    const firstMayCommit = new Promise<void>((resolve) => (commitFirst = resolve));
    let firstInserted!: () => void;
    const inserted = new Promise<void>((resolve) => (firstInserted = resolve));
    const first = db.transaction(async (tx) => {
      const result = await dialect.inboxInsert(tx, 'race', 'id-1');
      firstInserted();
      await firstMayCommit;
      return result;
    });
    await inserted;
    const second = db.transaction((tx) => dialect.inboxInsert(tx, 'race', 'id-1'));
    commitFirst();
    expect(await Promise.all([first, second])).toEqual([true, false]);
  });

  it('deleteInboxBefore deletes the oldest rows in batches; pruneInbox loops until none is left', async () => {
    const { db, dialect } = inbox;
    for (const id of ['p-1', 'p-2', 'p-3', 'p-4', 'p-5']) await db.transaction((tx) => dialect.inboxInsert(tx, 'prune', id));
    expect(await dialect.deleteInboxBefore(db, new Date(Date.now() - 86_400_000), 10)).toBe(0);
    const remaining = async () => (await dialect.inboxContains(db, 'prune', ['p-1', 'p-2', 'p-3', 'p-4', 'p-5'])).length;
    const tomorrow = new Date(Date.now() + 86_400_000);
    // Oldest first: the two rows deleted are earlier tests' rows, not the five just inserted.
    expect(await dialect.deleteInboxBefore(db, tomorrow, 2)).toBe(2);
    expect(await remaining()).toBe(5);
    const pruned = await pruneInbox(db, dialect, { retentionMs: 1, batchSize: 2, now: () => tomorrow });
    expect(pruned).toBeGreaterThanOrEqual(5); // with the rest of the earlier tests' rows
    expect(await remaining()).toBe(0);
  });

  it('advanceInboxSequence applies in order, recognises applied sequences and holds back early ones', async () => {
    const { db, dialect } = inbox;
    const advance = (sequence: number, acceptFirstSeen = false, aggregate = { type: 'order', id: 'seq-1' }) =>
      db.transaction((tx) => dialect.advanceInboxSequence(tx, 'seq', aggregate, sequence, acceptFirstSeen));
    expect(await advance(2)).toBe('early');
    expect(await advance(1)).toBe('apply');
    expect(await advance(1)).toBe('applied');
    expect(await advance(3)).toBe('early');
    expect(await advance(2)).toBe('apply');
    expect(await advance(3)).toBe('apply');
    expect(await advance(7, true, { type: 'order', id: 'seq-2' })).toBe('apply');
    expect(await advance(8, false, { type: 'order', id: 'seq-2' })).toBe('apply');
  });

  it('applyInboxEvent rolls the inbox row back with a failing handler, so the retry runs it', async () => {
    const { db, dialect } = inbox;
    const event: InboxEvent = {
      id: 'apply-1',
      type: 'T',
      aggregateType: 'order',
      aggregateId: 'a-1',
      sequence: 1,
      occurredAt: new Date(),
      payload: null,
      headers: {},
    };
    let runs = 0;
    const options = {
      db,
      dialect,
      consumer: 'apply',
      ordering: null,
      handler: async (delivered: InboxEvent, tx: Parameters<typeof inbox.insertEffect>[0]) => {
        runs++;
        await inbox.insertEffect(tx, delivered.id, 'apply');
        if (runs === 1) throw new Error('first run fails');
      },
    };
    const failed = await applyInboxEvent(options, event);
    expect(failed.kind).toBe('failed');
    expect(await inbox.effectCount('apply-1')).toBe(0);
    expect((await applyInboxEvent(options, event)).kind).toBe('processed');
    expect((await applyInboxEvent(options, event)).kind).toBe('duplicate');
    expect(runs).toBe(2);
    expect(await inbox.effectCount('apply-1')).toBe(1);
  });
});

describe('createInboxConsumer options', () => {
  const base = {
    connection: 'amqp://guest:guest@127.0.0.1:5672',
    queue: 'q',
    consumer: 'c',
    db: { transaction: async <T>(fn: (tx: never) => Promise<T>) => fn(undefined as never) },
    dialect: {
      inboxInsert: async () => true,
      advanceInboxSequence: async () => 'apply' as const,
      inboxContains: async () => [],
      deleteInboxBefore: async () => 0,
    },
    handler: async () => undefined,
  };
  it.each([
    [{ queue: '' }, 'queue'],
    [{ consumer: 'x'.repeat(256) }, 'consumer'],
    [{ concurrency: 0 }, 'concurrency'],
    [{ concurrency: 10, prefetch: 5 }, 'prefetch'],
    [{ maxAttempts: 0 }, 'maxAttempts'],
    [{ retryDelayMs: -1 }, 'retryDelayMs'],
    [{ ordering: { maxHolds: 0 } }, 'ordering.maxHolds'],
    [{ deadLetter: { exchange: '' } }, 'deadLetter.exchange'],
    [{ connection: 'http://localhost' }, 'connection'],
    [{ dialect: {} }, 'dialect'],
    [{ retries: 3 }, 'retries'],
  ])('rejects %j with an OutboxConfigError naming %s', (override, option) => {
    let error: unknown;
    try {
      createInboxConsumer({ ...base, ...override } as never);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OutboxConfigError);
    expect((error as OutboxConfigError).option).toBe(option);
  });
});
