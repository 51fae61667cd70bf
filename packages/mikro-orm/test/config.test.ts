import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM, type Options } from '@mikro-orm/core';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import { OutboxConfigError } from '@outboxkit/core';
import { createMysqlDialect } from '@outboxkit/mysql';
import { createPostgresDialect } from '@outboxkit/postgres';
import { createSqliteDialect } from '@outboxkit/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { outbox, outboxSubscriber, withOutbox } from '../src/index.js';
import { ENTITIES } from './support/entities.js';

// Startup and call-site checks; SQLite files only (no server is needed to refuse a config).
const dir = mkdtempSync(join(tmpdir(), 'outboxkit-mikro-orm-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const base = (): Options => ({ driver: BetterSqliteDriver, dbName: join(dir, `config-${++files}.db`), entities: ENTITIES, debug: false });

async function configError(run: () => unknown): Promise<OutboxConfigError> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(OutboxConfigError);
    return error as OutboxConfigError;
  }
  throw new Error('expected an OutboxConfigError, nothing was thrown');
}

describe('withOutbox refuses configs where events could not share the flush transaction', () => {
  it('disableTransactions: true, given to withOutbox', async () => {
    const error = await configError(() => withOutbox({ ...base(), disableTransactions: true }, { dialect: createSqliteDialect() }));
    expect(error.option).toBe('disableTransactions');
  });

  it('implicitTransactions: false, given to withOutbox', async () => {
    const error = await configError(() => withOutbox({ ...base(), implicitTransactions: false }, { dialect: createSqliteDialect() }));
    expect(error.option).toBe('implicitTransactions');
    expect(error.message).toMatch(/without a transaction/);
  });

  it('transactions disabled after withOutbox: MikroORM.init rejects at startup', async () => {
    const config = { ...withOutbox(base(), { dialect: createSqliteDialect() }), disableTransactions: true };
    expect((await configError(() => MikroORM.init(config))).option).toBe('disableTransactions');
  });

  it('a dialect that does not match the ORM platform: MikroORM.init rejects naming the dialect option', async () => {
    for (const dialect of [createPostgresDialect(), createMysqlDialect()]) {
      const error = await configError(() => MikroORM.init(withOutbox(base(), { dialect })));
      expect(error.option).toBe('dialect');
      expect(error.message).toMatch(/createSqliteDialect/);
    }
  });

  it('something that is not a dialect, or bad rules, fail at withOutbox', async () => {
    expect((await configError(() => withOutbox(base(), { dialect: {} as never }))).option).toBe('dialect');
    const rule = { entity: 'Order', on: ['insert'], event: () => null };
    expect((await configError(() => withOutbox(base(), { dialect: createSqliteDialect(), rules: [rule as never] }))).option).toBe('rules[0].on');
    expect(
      (await configError(() => withOutbox(base(), { dialect: createSqliteDialect(), rules: [{ ...rule, on: ['create'], event: 1 } as never] }))).option,
    ).toBe('rules[0].event');
  });

  it('registering the outbox twice would write every event twice: refused', async () => {
    const once = withOutbox(base(), { dialect: createSqliteDialect() });
    expect((await configError(() => withOutbox(once, { dialect: createSqliteDialect() }))).option).toBe('subscribers');
    // Listing a second subscriber by hand next to withOutbox is caught at startup.
    const error = await configError(() =>
      MikroORM.init({ ...once, subscribers: [...(once.subscribers ?? []), outboxSubscriber({ dialect: createSqliteDialect() })] }),
    );
    expect(error.option).toBe('subscribers');
  });
});

describe('outbox.add refuses an EntityManager whose events nobody would write', () => {
  it('an ORM set up without the outbox', async () => {
    const orm = await MikroORM.init(base());
    try {
      const event = { aggregateType: 'order', aggregateId: 1, type: 'order.placed', payload: null };
      expect((await configError(() => outbox.add(orm.em.fork(), event))).option).toBe('subscribers');
    } finally {
      await orm.close(true);
    }
  });

  it('a working ORM accepts the call and returns the validated envelope', async () => {
    const orm = await MikroORM.init(withOutbox(base(), { dialect: createSqliteDialect() }));
    try {
      const envelope = outbox.add(orm.em.fork(), { aggregateType: 'order', aggregateId: 7, type: 'order.placed', payload: { n: 1 } });
      expect(envelope).toMatchObject({ aggregateId: '7', type: 'order.placed', payload: { n: 1 }, destination: null });
      expect(envelope.id).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await orm.close(true);
    }
  });
});

describe('withOutbox keeps the schema generator off the outbox tables', () => {
  it('adds every resolved outbox table name (bare and schema-qualified) to schemaGenerator.skipTables, after your own', () => {
    const dialect = createPostgresDialect({ tables: { schema: 'app', prefix: 'ob_', names: { events: 'pending_events' } } });
    const config = withOutbox({ ...base(), schemaGenerator: { skipTables: ['legacy', /^tmp_/], disableForeignKeys: true } }, { dialect });
    const skipped = config.schemaGenerator?.skipTables ?? [];
    expect(skipped.slice(0, 2)).toEqual(['legacy', /^tmp_/]);
    const names = Object.values(dialect.tables.names);
    expect(names).toContain('pending_events');
    expect(names).toContain('ob_inbox_sequences');
    expect(skipped.slice(2)).toEqual([...names, ...names.map((name) => `app.${name}`)]);
    // The user's other generator options are kept.
    expect(config.schemaGenerator?.disableForeignKeys).toBe(true);
  });
});
