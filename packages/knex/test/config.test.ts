import knexFactory from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { OutboxConfigError } from '@outboxkit/core';
import { createMysqlDialect } from '@outboxkit/mysql';
import { createPostgresDialect } from '@outboxkit/postgres';
import { createSqliteDialect } from '@outboxkit/sqlite';
import { thrownBy } from '@outboxkit/testkit';
import { createKnexOutbox, knexInbox } from '../src/index.js';

// No statement runs: these instances never open a connection.
const lazy = { pool: { min: 0 } };
const postgres = knexFactory({ client: 'pg', connection: 'postgres://postgres@127.0.0.1:5432/test', ...lazy });
const mysql = knexFactory({ client: 'mysql2', connection: 'mysql://root@127.0.0.1:3306/test', ...lazy });
const sqlite = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
// CockroachDB speaks PostgreSQL's protocol (knex drives it with pg), but the PostgreSQL dialect is not written or tested for it.
const cockroach = knexFactory({ client: 'cockroachdb', connection: 'postgres://root@127.0.0.1:26257/test', ...lazy });
afterAll(() => Promise.all([postgres, mysql, sqlite, cockroach].map((knex) => knex.destroy())));

const configError = (fn: () => unknown): OutboxConfigError => thrownBy(OutboxConfigError, fn);

describe('createKnexOutbox configuration', () => {
  it("accepts the dialect of knex's database", () => {
    expect(createKnexOutbox(postgres, { dialect: createPostgresDialect() }).dialect.name).toBe('postgres');
    expect(createKnexOutbox(mysql, { dialect: createMysqlDialect() }).dialect.name).toBe('mysql');
    expect(createKnexOutbox(sqlite, { dialect: createSqliteDialect() }).dialect.name).toBe('sqlite');
  });

  it('rejects a dialect of another database, naming the option and the right factory', () => {
    const error = configError(() => createKnexOutbox(postgres, { dialect: createMysqlDialect() }));
    expect(error.option).toBe('dialect');
    expect(error.message).toMatch(/pg client.*"mysql".*createPostgresDialect\(\)/);
    expect(configError(() => createKnexOutbox(mysql, { dialect: createSqliteDialect() })).message).toMatch(/createMysqlDialect/);
    expect(configError(() => createKnexOutbox(sqlite, { dialect: createPostgresDialect() })).message).toMatch(/createSqliteDialect/);
  });

  it('rejects a missing dialect, a non-knex first argument and unsupported clients', () => {
    expect(configError(() => createKnexOutbox(sqlite, {} as never)).option).toBe('dialect');
    expect(configError(() => createKnexOutbox(sqlite, undefined as never)).option).toBe('dialect');
    expect(configError(() => createKnexOutbox({} as never, { dialect: createSqliteDialect() })).option).toBe('knex');
    expect(configError(() => createKnexOutbox(null as never, { dialect: createSqliteDialect() })).option).toBe('knex');
    const error = configError(() => createKnexOutbox(cockroach, { dialect: createPostgresDialect() }));
    expect(error.option).toBe('knex');
    expect(error.message).toMatch(/"cockroachdb" is not supported.*'pg', 'mysql2', 'better-sqlite3'/);
    expect(configError(() => knexInbox(cockroach)).option).toBe('knex');
  });
});
