import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxConfigError } from '@outboxkit/core';
import { createMysqlDialect, createMysqlPool, enqueue, normalizeMysqlOptions } from '../src/index.js';
import { createTestDatabase, orderEvent, rows, type TestDatabase } from './helpers.js';

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase({ migrate: false });
  await t.pool.query(`CREATE TABLE \`${t.schema}\`.t (id INT)`);
});
afterAll(async () => {
  await t?.drop();
});

const HOSTILE = ['x"; DROP TABLE t;--', 'a`b', 'x`; DROP TABLE t; --', '', '1abc', 'a'.repeat(64)];

describe('configuration', () => {
  it.each(HOSTILE)('rejects the schema name %j with OutboxConfigError before any SQL runs', async (schema) => {
    expect(() => createMysqlDialect({ tables: { schema } })).toThrow(OutboxConfigError);
    expect(() => createMysqlDialect({ tables: { schema } })).toThrow(/tables\.schema: .* is not a valid identifier/);
    const conn = await t.pool.getConnection();
    try {
      await conn.query(`USE \`${t.schema}\``);
      await conn.beginTransaction();
      await expect(enqueue(conn, orderEvent('cfg'), { tables: { schema } })).rejects.toThrow(OutboxConfigError);
      await conn.rollback();
    } finally {
      conn.release();
    }
    // The table the injection aims at is still there.
    expect(await rows(t.pool, 'SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?', [t.schema, 't'])).toHaveLength(1);
  });

  it('rejects hostile table names and prefixes, naming the option', () => {
    expect(() => createMysqlDialect({ tables: { prefix: 'p`; --' } })).toThrow(/^tables\.prefix: /);
    expect(() => createMysqlDialect({ tables: { names: { events: 'e vents' } } })).toThrow(/^tables\.names\.events: /);
    expect(() => createMysqlDialect({ tables: { names: { nope: 'x' } as never } })).toThrow(/^tables\.names\.nope: unknown table/);
  });

  it('rejects unknown options and non-objects', async () => {
    expect(() => createMysqlDialect({ table: {} } as never)).toThrow(/^table: unknown option; known: tables/);
    expect(() => createMysqlDialect(null as never)).toThrow(OutboxConfigError);
    await expect(enqueue(t.pool, orderEvent('cfg'), { tables: {}, dialect: t.dialect })).rejects.toThrow(/either `dialect` or `tables`/);
  });

  it('normalises to frozen options with backtick-quoted, schema-qualified tables in every statement', () => {
    const options = normalizeMysqlOptions({ tables: { schema: 'app', prefix: 'ob_', names: { events: 'my_events' } } });
    expect(Object.isFrozen(options)).toBe(true);
    expect(options.tables.names).toMatchObject({ events: 'my_events', sequences: 'ob_sequences' });
    const ddl = createMysqlDialect({ tables: { schema: 'app', prefix: 'ob_', names: { events: 'my_events' } } })
      .migrations()[0]!
      .statements.join('\n');
    expect(ddl).toContain('CREATE TABLE IF NOT EXISTS `app`.`my_events`');
    expect(ddl).toContain('CREATE TABLE IF NOT EXISTS `app`.`ob_sequences`');
  });
});

describe('createMysqlPool', () => {
  it('rejects other schemes and unparseable URLs without echoing the password', () => {
    const attempts = ['postgres://app:s3cr3t-pw@db:5432/x', 'mysql://app:s3cr3t-pw@db:3306/x?ssl=true', 'not a url s3cr3t-pw'];
    for (const url of attempts) {
      let error: unknown;
      try {
        createMysqlPool(url);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(OutboxConfigError);
      expect((error as Error).message).toMatch(/^url: /);
      expect((error as Error).message).not.toContain('s3cr3t-pw');
    }
  });

  it('accepts mariadb:// URLs and runs sessions at READ COMMITTED', async () => {
    const url = (await import('../../testkit/dist/index.js')).serviceUrl;
    const pool = createMysqlPool((await url('mysql')).replace(/^mysql:/, 'mariadb:'), { connectionLimit: 1 });
    try {
      const [result] = await pool.query('SELECT @@tx_isolation AS isolation, DATABASE() AS db');
      expect(result).toEqual([{ isolation: 'READ-COMMITTED', db: 'test' }]);
    } finally {
      await pool.end();
    }
  });

  it('fails to connect with a wrong password without putting it in the error', async () => {
    const base = new URL(await (await import('../../testkit/dist/index.js')).serviceUrl('mysql'));
    base.username = 'outboxkit_no_such_user';
    base.password = 'Wr0ng-Pa55word';
    const pool = createMysqlPool(base.toString(), { connectionLimit: 1 });
    try {
      const error = await pool.query('SELECT 1').then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });
      expect(String((error as Error).message)).not.toContain('Wr0ng-Pa55word');
    } finally {
      await pool.end();
    }
  });
});
