import { describe, expect, it } from 'vitest';
import { lazyConnectionExecutor, OutboxConfigError } from '@outboxkit/core';

/** better-sqlite3's Database, as far as this file uses it (core's tests carry no driver typings). */
type RawSqlite = new (path: string) => { close(): void };
const openRawSqlite = async (): Promise<InstanceType<RawSqlite>> => {
  const { default: Database } = (await import('better-sqlite3' as string)) as { default: RawSqlite };
  return new Database(':memory:');
};

describe('lazyConnectionExecutor', () => {
  it('loads the dialect package once, and runs its executor on the raw connection', async () => {
    const loads: string[] = [];
    const executorFor = lazyConnectionExecutor('sqlite', '@outboxkit/example', (specifier) => {
      loads.push(specifier);
      return import(specifier);
    });
    const db = await openRawSqlite();
    try {
      const executor = (await executorFor())(db);
      expect(await executor.query<{ one: number }>('SELECT 1 AS one')).toEqual({ rows: [{ one: 1 }], rowCount: 1 });
      expect(executor.inTransaction).toBe(false);
      await executorFor();
      expect(loads).toEqual(['@outboxkit/sqlite']);
    } finally {
      db.close();
    }
  });

  it('says what to install when the dialect package is missing, and tries again at the next call', async () => {
    let attempts = 0;
    // A load that fails like an uninstalled package once, then resolves.
    const executorFor = lazyConnectionExecutor('postgres', '@outboxkit/example', (specifier) => {
      attempts++;
      return attempts === 1 ? Promise.reject(new Error(`Cannot find package '${specifier}'`)) : import(specifier);
    });
    const error = await executorFor().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OutboxConfigError);
    expect((error as Error).message).toMatch(/could not load @outboxkit\/postgres.*install it next to @outboxkit\/example/);
    expect(typeof (await executorFor())).toBe('function');
    expect(attempts).toBe(2);
  });
});
