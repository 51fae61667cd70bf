import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliveryBench } from '@outboxkit/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../../test/support/relay-process.js';
import { outbox } from '../src/index.js';
import { mariadb, postgresql, sqlite, type PrismaDatabaseKind, type PrismaTestDatabase } from './support/databases.js';

/**
 * docs/prisma.md: the outbox tables can travel in Prisma's migration history as a migration
 * folder whose migration.sql is the output of `outbox-relay migrate --print`. `prisma migrate`
 * cannot run on these machines (its schema engine cannot be downloaded), so the test applies
 * the saved file the way `prisma migrate deploy` does: the whole script, through the plain
 * driver. Then the extension writes to those tables and the relay publishes from them.
 */
function describePrintedMigration(kind: PrismaDatabaseKind, options: { rerunnable: boolean }): void {
  describe(`outbox-relay migrate --print saved as a Prisma migration, on ${kind.name}`, () => {
    const project = mkdtempSync(join(tmpdir(), 'outboxkit-prisma-migration-'));
    let db: PrismaTestDatabase;
    let relayFlags: readonly string[] = [];
    let script = '';
    let runScript: (sql: string) => Promise<void> = async () => undefined;

    beforeAll(async () => {
      db = await kind.setup(async (target) => {
        relayFlags = target.relayFlags;
        const printed = await runCli(['migrate', '--print', ...target.relayFlags]);
        expect(printed.stderr).toBe('');
        expect(printed.code).toBe(0);
        const folder = join(project, 'prisma', 'migrations', '20260101000000_outboxkit');
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, 'migration.sql'), printed.stdout);
        script = readFileSync(join(folder, 'migration.sql'), 'utf8');
        runScript = target.runScript;
        await runScript(script);
      });
    });

    afterAll(async () => {
      await db?.dispose();
      rmSync(project, { recursive: true, force: true });
    });

    it("creates every table and records its versions: the relay's migrate finds nothing to do, tx.$outbox writes, the relay publishes", async () => {
      const prisma = db.prisma.$extends(outbox({ dialect: db.dialect }));
      const event = await prisma.$transaction(async (tx) => {
        const order = await tx.order.create({ data: { number: 'M-1', total: 3 } });
        return tx.$outbox({ aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload: { total: 3 } });
      });
      expect(event.sequence).toBe(1);
      expect(await db.dialect.countPending(db.database)).toBe(1);

      // The printed script records the versions it created, so `migrate` recognises the schema.
      const first = await runCli(['migrate', ...relayFlags]);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/^schema is up to date/);
      expect(await db.dialect.migrate(db.database)).toEqual([]);
      expect(await db.dialect.countPending(db.database)).toBe(1);

      // And it stays idempotent: applied again (another environment's history replayed onto a
      // database the relay already migrated), it changes nothing and keeps the pending event.
      // SQLite has no ADD COLUMN IF NOT EXISTS: there the expiry migration's ALTER stops the
      // second run, having changed nothing (docs/prisma.md).
      if (options.rerunnable) await runScript(script);
      else await expect(runScript(script)).rejects.toThrow(/duplicate column name: expires_at/);
      expect(await db.dialect.migrate(db.database)).toEqual([]);
      expect(await db.dialect.countPending(db.database)).toBe(1);

      const bench = await DeliveryBench.open(db);
      try {
        bench.record([event], 'committed');
        await bench.deliverAndCheck();
        expect(bench.bodyOf(event.id)).toEqual({ total: 3 });
      } finally {
        await bench.close();
      }
      expect(await db.dialect.countPending(db.database)).toBe(0);
    });
  });
}

describePrintedMigration(postgresql, { rerunnable: true });
describePrintedMigration(mariadb, { rerunnable: true });
describePrintedMigration(sqlite, { rerunnable: false });
