import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxSchemaMissingError, writeEvents } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import { serviceUrl } from '@outboxkit/testkit';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { runCli } from './support/relay-process.js';

// A newcomer who forgot `outbox-relay migrate` gets the fix, not the driver's
// `relation "..." does not exist` / `Table '...' doesn't exist` / `no such table`.
const HINT = /the outbox tables do not exist \(.+\): run `outbox-relay migrate` \(or `outbox-relay run --migrate`\)/;
const RAW_ONLY = /^outbox-relay: (relation|Table|no such table)/m;

describe.each(DATABASE_KINDS)('a database without the outbox tables (%s)', (kind) => {
  let db: TestDatabase;
  let dbFlags: string[];
  let target: DatabaseTarget;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    dbFlags = ['--database-url', db.url, ...(db.schema ? ['--schema', db.schema] : [])];
    target = await openDatabase(db.url, { tables: db.schema ? { schema: db.schema } : {} });
  });

  afterAll(async () => {
    await target?.database.close();
    await db?.dispose();
  });

  it('a writer is told to run outbox-relay migrate, and nothing is written', async () => {
    const write = target.database.transaction((tx) =>
      writeEvents(target.dialect, tx, { aggregateType: 'order', aggregateId: 'o-1', type: 'order.placed', payload: {} }),
    );
    const error = await write.then(
      () => new Error('the write succeeded without tables'),
      (rejection: unknown) => rejection,
    );
    expect(error).toBeInstanceOf(OutboxSchemaMissingError);
    expect((error as OutboxSchemaMissingError).code).toBe('OUTBOX_SCHEMA_MISSING');
    expect((error as Error).message).toMatch(HINT);
    expect((error as Error).message).toContain(db.schema ? `${db.schema}.outbox_events` : 'outbox_events');
    // The driver's own error stays available for debugging.
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it.each([[['status']], [['quarantine', 'list']], [['cleanup']], [['replay', '--since', '1h', '--dry-run']]])(
    'outbox-relay %j says to migrate',
    async (command) => {
      const result = await runCli([...command, ...dbFlags]);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(HINT);
      expect(result.stderr).not.toMatch(RAW_ONLY);
    },
  );

  it('outbox-relay run (and run --once) exits at start with the hint instead of retrying for ever', async () => {
    const brokerUrl = await serviceUrl('rabbitmq');
    for (const once of [[], ['--once']]) {
      const result = await runCli(['run', ...once, ...dbFlags, '--broker-url', brokerUrl, '--log-level', 'silent']);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(HINT);
    }
  });

  it('after outbox-relay migrate the same commands work', async () => {
    expect((await runCli(['migrate', ...dbFlags])).code).toBe(0);
    const status = await runCli(['status', '--json', ...dbFlags]);
    expect(status.code).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ backlog: 0 });
  });
});

describe('SQLite enqueueSync without the outbox tables', () => {
  it('throws the same hint inside better-sqlite3 transaction()', async () => {
    const db = await createTestDatabase('SQLite');
    const { default: Database } = await import('better-sqlite3');
    const { enqueueSync } = await import('@outboxkit/sqlite');
    const connection = new Database(db.url.slice('sqlite:'.length));
    try {
      const write = connection.transaction(() => enqueueSync(connection, { aggregateType: 'order', aggregateId: 'o-1', type: 'order.placed', payload: {} }));
      expect(() => write()).toThrow(OutboxSchemaMissingError);
      expect(() => write()).toThrow(HINT);
    } finally {
      connection.close();
      await db.dispose();
    }
  });
});
