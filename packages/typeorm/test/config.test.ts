import { DataSource } from 'typeorm';
import { describe, expect, it } from 'vitest';
import { thrownBy } from '@outboxkit/testkit';
import { OutboxConfigError } from '@outboxkit/core';
import { createMysqlDialect } from '@outboxkit/mysql';
import { createPostgresDialect } from '@outboxkit/postgres';
import { createSqliteDialect } from '@outboxkit/sqlite';
import { createTypeormOutbox, typeormInbox } from '../src/index.js';
import { Order } from './support/databases.js';

// Never initialized: the plugin reads the DataSource's type from its options, before any connection.
const postgres = new DataSource({ type: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test' });
const mariadb = new DataSource({ type: 'mariadb', url: 'mysql://root@127.0.0.1:3306/test' });
const mysql = new DataSource({ type: 'mysql', url: 'mysql://root@127.0.0.1:3306/test' });
const sqlite = new DataSource({ type: 'better-sqlite3', database: ':memory:' });

const configError = (fn: () => unknown): OutboxConfigError => thrownBy(OutboxConfigError, fn);

describe('createTypeormOutbox configuration', () => {
  it('accepts the dialect of the database the DataSource is configured for', () => {
    expect(createTypeormOutbox(postgres, { dialect: createPostgresDialect() }).dialect.name).toBe('postgres');
    expect(createTypeormOutbox(mariadb, { dialect: createMysqlDialect() }).dialect.name).toBe('mysql');
    expect(createTypeormOutbox(mysql, { dialect: createMysqlDialect() }).dialect.name).toBe('mysql');
    expect(createTypeormOutbox(sqlite, { dialect: createSqliteDialect() }).dialect.name).toBe('sqlite');
  });

  it('rejects a dialect of another database, naming the option and the right factory', () => {
    const error = configError(() => createTypeormOutbox(postgres, { dialect: createMysqlDialect() }));
    expect(error.option).toBe('dialect');
    expect(error.message).toMatch(/type postgres.*"mysql".*createPostgresDialect\(\)/);
    expect(configError(() => createTypeormOutbox(mariadb, { dialect: createSqliteDialect() })).message).toMatch(/createMysqlDialect/);
    expect(configError(() => createTypeormOutbox(sqlite, { dialect: createPostgresDialect() })).message).toMatch(/createSqliteDialect/);
  });

  it('rejects a missing dialect, a non-DataSource and unsupported databases', () => {
    expect(configError(() => createTypeormOutbox(sqlite, {} as never)).option).toBe('dialect');
    expect(configError(() => createTypeormOutbox(sqlite, undefined as never)).option).toBe('dialect');
    expect(configError(() => createTypeormOutbox({} as never, { dialect: createSqliteDialect() })).option).toBe('dataSource');
    // CockroachDB speaks PostgreSQL's protocol, but the PostgreSQL dialect is not written or tested for it.
    const cockroach = new DataSource({ type: 'cockroachdb', url: 'postgres://root@127.0.0.1:26257/test', timeTravelQueries: false });
    const error = configError(() => createTypeormOutbox(cockroach, { dialect: createPostgresDialect() }));
    expect(error.option).toBe('dataSource');
    expect(error.message).toMatch(/"cockroachdb" is not supported.*'postgres', 'mysql', 'mariadb', 'better-sqlite3'/);
    expect(configError(() => typeormInbox(cockroach)).option).toBe('dataSource');
  });

  it('refuses subscribe() before initialize(), when TypeORM would still replace its subscriber list', () => {
    const outbox = createTypeormOutbox(sqlite, { dialect: createSqliteDialect() });
    const error = configError(() => outbox.subscribe(Order, {}));
    expect(error.option).toBe('dataSource');
    expect(error.message).toMatch(/after dataSource\.initialize\(\)/);
  });
});
