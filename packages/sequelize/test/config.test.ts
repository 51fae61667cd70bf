import { Sequelize } from 'sequelize';
import { afterAll, describe, expect, it } from 'vitest';
import { thrownBy } from '@outboxkit/testkit';
import { OutboxConfigError } from '@outboxkit/core';
import { createMysqlDialect } from '@outboxkit/mysql';
import { createPostgresDialect } from '@outboxkit/postgres';
import { createSqliteDialect } from '@outboxkit/sqlite';
import { createSequelizeOutbox } from '../src/index.js';

// Sequelize connects lazily: these instances never open a connection.
const postgres = new Sequelize('postgres://postgres@127.0.0.1:5432/test', { logging: false });
const mysql = new Sequelize('mysql://root@127.0.0.1:3306/test', { logging: false });
const sqlite = new Sequelize({ dialect: 'sqlite', storage: ':memory:', logging: false });
const other = new Sequelize({ dialect: 'sqlite', storage: ':memory:', logging: false });
afterAll(() => Promise.all([postgres, mysql, sqlite, other].map((s) => s.close())));

const configError = (fn: () => unknown): OutboxConfigError => thrownBy(OutboxConfigError, fn);

describe('createSequelizeOutbox configuration', () => {
  it('accepts the dialect of the database Sequelize is connected to', () => {
    expect(createSequelizeOutbox(postgres, { dialect: createPostgresDialect() }).dialect.name).toBe('postgres');
    expect(createSequelizeOutbox(mysql, { dialect: createMysqlDialect() }).dialect.name).toBe('mysql');
    expect(createSequelizeOutbox(sqlite, { dialect: createSqliteDialect() }).dialect.name).toBe('sqlite');
  });

  it('rejects a dialect of another database, naming the option and the right factory', () => {
    const error = configError(() => createSequelizeOutbox(postgres, { dialect: createMysqlDialect() }));
    expect(error.option).toBe('dialect');
    expect(error.message).toMatch(/connected to postgres.*"mysql".*createPostgresDialect\(\)/);
    expect(configError(() => createSequelizeOutbox(mysql, { dialect: createSqliteDialect() })).message).toMatch(/createMysqlDialect/);
    expect(configError(() => createSequelizeOutbox(sqlite, { dialect: createPostgresDialect() })).message).toMatch(/createSqliteDialect/);
  });

  it('rejects a missing dialect and a non-Sequelize first argument', () => {
    expect(configError(() => createSequelizeOutbox(sqlite, {} as never)).option).toBe('dialect');
    expect(configError(() => createSequelizeOutbox(sqlite, undefined as never)).option).toBe('dialect');
    expect(configError(() => createSequelizeOutbox({} as never, { dialect: createSqliteDialect() })).option).toBe('sequelize');
  });

  it("points Sequelize's mariadb dialect to the mysql one", () => {
    const fakeMariadb = { getDialect: () => 'mariadb' } as unknown as Sequelize;
    const error = configError(() => createSequelizeOutbox(fakeMariadb, { dialect: createMysqlDialect() }));
    expect(error.option).toBe('sequelize');
    expect(error.message).toMatch(/dialect: 'mysql'/);
  });

  it('validates hook registrations', () => {
    const outbox = createSequelizeOutbox(sqlite, { dialect: createSqliteDialect() });
    const Order = sqlite.define('Order', {});
    const Foreign = other.define('Foreign', {});
    expect(configError(() => outbox.hooks(Foreign, {})).option).toBe('model');
    expect(configError(() => outbox.hooks({} as never, {})).option).toBe('model');
    expect(configError(() => outbox.hooks(Order, { afterCreat: () => null } as never)).option).toBe('mappers.afterCreat');
    expect(configError(() => outbox.hooks(Order, { afterCreate: 'x' } as never)).option).toBe('mappers.afterCreate');
    expect(configError(() => outbox.hooks(Order, { bulk: 'per-statement' } as never)).option).toBe('mappers.bulk');
    expect(configError(() => outbox.hooks(Order, { bulk: { afterBulkDelete: () => null } } as never)).option).toBe('mappers.bulk.afterBulkDelete');
    const remove = outbox.hooks(Order, { afterCreate: () => null });
    expect(configError(() => outbox.hooks(Order, { afterCreate: () => null })).message).toMatch(/already registered/);
    remove();
    expect(Order.hasHook('beforeCreate')).toBe(false);
    outbox.hooks(Order, { afterCreate: () => null })();
  });
});
