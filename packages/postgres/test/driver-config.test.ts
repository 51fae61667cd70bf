import { inspect } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxConfigError, OutboxError } from '@outboxkit/core';
import { createPgPool, createPostgresDialect, enqueue, normalizePostgresOptions, pgDatabase, pgListener } from '../src/index.js';
import { backendPid, createTestSchema, orderEvent, type TestSchema } from './helpers.js';

const HOSTILE = 'x"; DROP TABLE t;--';

describe('options and configuration errors', () => {
  it('rejects a hostile schema name with OutboxConfigError naming the option, before any SQL runs', async () => {
    expect(() => createPostgresDialect({ tables: { schema: HOSTILE } })).toThrow(OutboxConfigError);
    try {
      createPostgresDialect({ tables: { schema: HOSTILE } });
    } catch (error) {
      expect((error as OutboxConfigError).option).toBe('tables.schema');
    }
    // Through enqueue as well: the client is never asked to run anything.
    const statements: string[] = [];
    const recorder = {
      query: async (sql: string) => {
        statements.push(sql);
        return { rows: [], rowCount: 0 };
      },
    };
    await expect(enqueue(recorder, orderEvent('o-1'), { tables: { schema: HOSTILE } })).rejects.toMatchObject({ option: 'tables.schema' });
    await expect(enqueue(recorder, orderEvent('o-1'), { tables: { names: { events: 'e; DROP' } } })).rejects.toMatchObject({ option: 'tables.names.events' });
    expect(statements).toEqual([]);
  });

  it('validates every option and names it', () => {
    const optionOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(OutboxConfigError);
        return (error as OutboxConfigError).option;
      }
      return 'no error';
    };
    expect(optionOf(() => normalizePostgresOptions({ notify: { channel: 'bad channel' } }))).toBe('notify.channel');
    expect(optionOf(() => normalizePostgresOptions({ notify: 'yes' as never }))).toBe('notify');
    expect(optionOf(() => normalizePostgresOptions({ tables: 'outbox' as never }))).toBe('tables');
    expect(optionOf(() => normalizePostgresOptions({ tabels: {} } as never))).toBe('tabels');
    expect(optionOf(() => normalizePostgresOptions(null as never))).toBe('options');
    expect(optionOf(() => pgListener({ connect: 'mysql://root@localhost/test' }))).toBe('connect');
    expect(optionOf(() => pgListener({ connect: 'postgres://localhost/test', channel: 'a-b' }))).toBe('channel');
    expect(optionOf(() => pgListener({ connect: 'postgres://localhost/test', reconnect: { initialMs: 0 } }))).toBe('reconnect.initialMs');
    expect(optionOf(() => pgListener({ connect: 'postgres://localhost/test', reconnect: { initialMs: 500, maxMs: 100 } }))).toBe('reconnect.maxMs');
  });

  it('refuses unknown listener options, naming them', () => {
    const optionOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        expect(error).toBeInstanceOf(OutboxConfigError);
        return (error as OutboxConfigError).option;
      }
      return 'no error';
    };
    expect(optionOf(() => pgListener({ connect: 'postgres://localhost/test', chanel: 'x' } as never))).toBe('chanel');
    expect(optionOf(() => pgListener({ connect: 'postgres://localhost/test', reconnect: { initial: 5 } } as never))).toBe('reconnect.initial');
    expect(optionOf(() => pgListener(null as never))).toBe('options');
  });

  it('applies the defaults: notify on the outbox_events channel, outbox_ tables, frozen', () => {
    const options = normalizePostgresOptions();
    expect(options.notifyChannel).toBe('outbox_events');
    expect(options.tables).toEqual({ schema: null, names: expect.objectContaining({ events: 'outbox_events', leases: 'outbox_leases' }) });
    expect(Object.isFrozen(options)).toBe(true);
    expect(normalizePostgresOptions({ notify: false }).notifyChannel).toBeNull();
    expect(normalizePostgresOptions({ notify: { channel: 'Orders_2' } }).notifyChannel).toBe('Orders_2');
    const dialect = createPostgresDialect();
    expect(dialect.name).toBe('postgres');
  });

  it('createPgPool never shows the password in its errors', async () => {
    const secret = 's3cr3t-Pa55';
    const errors: unknown[] = [];
    for (const url of [`postgres://app:${secret}@host name/db`, `mysql://app:${secret}@localhost/db`, `app:${secret}`]) {
      try {
        createPgPool(url);
      } catch (error) {
        errors.push(error);
      }
    }
    expect(errors).toHaveLength(3);
    for (const error of errors) {
      expect(error).toBeInstanceOf(OutboxConfigError);
      expect(inspect(error, { depth: 5 })).not.toContain(secret);
    }
    expect((errors[0] as Error).message).toContain('postgres:<redacted> is not a valid URL');

    // A connection failure reported by the pool carries no secret either.
    const pool = createPgPool(`postgres://app:${secret}@127.0.0.1:1/db`, { connectionTimeoutMillis: 2000 });
    try {
      const failure = await pool.query('SELECT 1').then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure).toBeInstanceOf(Error);
      expect(inspect(failure, { depth: 5 })).not.toContain(secret);
    } finally {
      await pool.end();
    }
  });
});

describe('pgDatabase', () => {
  let t: TestSchema;
  beforeAll(async () => {
    t = await createTestSchema();
    await t.pool.query(`CREATE TABLE "${t.schema}".things (id int PRIMARY KEY)`);
  });
  afterAll(async () => {
    await t.drop();
  });
  const things = async () => (await t.pool.query(`SELECT id FROM "${t.schema}".things ORDER BY id`)).rows.map((row) => row.id);

  it('commits when the callback resolves and rolls back when it throws, returning the client either way', async () => {
    const pool = new pg.Pool({ connectionString: t.url, max: 1 });
    const db = pgDatabase(pool);
    try {
      expect(await db.transaction(async (tx) => (await tx.query(`INSERT INTO "${t.schema}".things VALUES (1)`)).rowCount)).toBe(1);
      await expect(
        db.transaction(async (tx) => {
          await tx.query(`INSERT INTO "${t.schema}".things VALUES (2)`);
          throw new Error('business rule failed');
        }),
      ).rejects.toThrow('business rule failed');
      expect(await things()).toEqual([1]);
      // max: 1, so a leaked client would make this wait forever.
      expect((await db.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
      expect(pool.idleCount).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('refuses to report success when COMMIT turned into a rollback', async () => {
    const db = pgDatabase(new pg.Pool({ connectionString: t.url, max: 1 }));
    try {
      const attempt = db.transaction(async (tx) => {
        await tx.query(`INSERT INTO "${t.schema}".things VALUES (3)`);
        await tx.query(`INSERT INTO "${t.schema}".things VALUES (3)`).catch(() => undefined); // swallowed duplicate key
      });
      await expect(attempt).rejects.toMatchObject({ code: 'OUTBOX_TRANSACTION_ABORTED' });
      await expect(attempt).rejects.toBeInstanceOf(OutboxError);
      expect(await things()).not.toContain(3);
    } finally {
      await db.close();
    }
  });

  it('destroys a connection whose rollback failed instead of returning it to the pool', async () => {
    const pool = new pg.Pool({ connectionString: t.url, max: 1 });
    pool.on('error', () => {}); // the killed connection reports itself; the test asserts on the outcome instead
    const db = pgDatabase(pool);
    try {
      let killedPid = 0;
      await expect(
        db.transaction(async (tx) => {
          const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          killedPid = rows[0]!.pid;
          await t.pool.query('SELECT pg_terminate_backend($1)', [killedPid]);
          throw new Error('callback failed after its connection died');
        }),
      ).rejects.toThrow('callback failed after its connection died');
      expect(pool.totalCount).toBe(0);
      const client = await pool.connect();
      try {
        expect(await backendPid(client)).not.toBe(killedPid);
      } finally {
        client.release();
      }
    } finally {
      await db.close();
    }
  });
});
