import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import type { SqlDatabase } from '@outboxkit/core';
import { describeDialectConformance, type DialectHarness } from '@outboxkit/testkit';
import { createSqliteDialect, openSqliteDatabase } from '../src/index.js';

// Each test gets its own migrated file in this file's temporary directory.
const dir = mkdtempSync(join(tmpdir(), 'outboxkit-sqlite-conformance-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

const harness: DialectHarness = {
  name: 'SQLite',
  // One writer at a time for the whole database: commits are serialised.
  features: { concurrentWriters: false },
  createDialect: (tables) => createSqliteDialect({ tables }),
  async setup() {
    const path = join(dir, `conformance-${++files}.db`);
    const pools: SqlDatabase[] = [];
    const open = (): SqlDatabase => {
      const db = openSqliteDatabase(path);
      pools.push(db);
      return db;
    };
    const database = open();
    const dialect = createSqliteDialect();
    await dialect.migrate(database);
    return {
      dialect,
      database,
      openPool: async () => open(),
      async dispose() {
        await Promise.all(pools.map((db) => db.close()));
        rmSync(path, { force: true });
      },
    };
  },
};

describeDialectConformance(harness);
