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
function describePrintedMigration(kind: PrismaDatabaseKind): void {
  describe(`outbox-relay migrate --print saved as a Prisma migration, on ${kind.name}`, () => {
    const project = mkdtempSync(join(tmpdir(), 'outboxkit-prisma-migration-'));
    let db: PrismaTestDatabase;
    let relayFlags: readonly string[] = [];

    beforeAll(async () => {
      db = await kind.setup(async (target) => {
        relayFlags = target.relayFlags;
        const printed = await runCli(['migrate', '--print', ...target.relayFlags]);
        expect(printed.stderr).toBe('');
        expect(printed.code).toBe(0);
        const folder = join(project, 'prisma', 'migrations', '20260101000000_outboxkit');
        mkdirSync(folder, { recursive: true });
        writeFileSync(join(folder, 'migration.sql'), printed.stdout);
        await target.runScript(readFileSync(join(folder, 'migration.sql'), 'utf8'));
      });
    });

    afterAll(async () => {
      await db?.dispose();
      rmSync(project, { recursive: true, force: true });
    });

    it("creates every table: tx.$outbox writes, the relay publishes, and the relay's migrate changes nothing", async () => {
      const prisma = db.prisma.$extends(outbox({ dialect: db.dialect }));
      const event = await prisma.$transaction(async (tx) => {
        const order = await tx.order.create({ data: { number: 'M-1', total: 3 } });
        return tx.$outbox({ aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload: { total: 3 } });
      });
      expect(event.sequence).toBe(1);
      expect(await db.dialect.countPending(db.database)).toBe(1);

      // The printed script does not record its versions, so the relay's first migrate runs the
      // (idempotent) statements again and records them; it must keep the pending event.
      const first = await runCli(['migrate', ...relayFlags]);
      expect(first.stderr).toBe('');
      expect(first.code).toBe(0);
      expect(await db.dialect.countPending(db.database)).toBe(1);
      const second = await runCli(['migrate', ...relayFlags]);
      expect(second.stdout).toMatch(/^schema is up to date/);
      expect(await db.dialect.migrate(db.database)).toEqual([]);

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

describePrintedMigration(postgresql);
describePrintedMigration(mariadb);
describePrintedMigration(sqlite);
