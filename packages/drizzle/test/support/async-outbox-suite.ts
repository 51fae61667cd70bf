import { OutboxConfigError, OutboxTransactionRequiredError, type EventInput } from '@outboxkit/core';
import { uniqueName, useDeliveryHooks } from '@outboxkit/testkit';
import { TransactionRollbackError } from 'drizzle-orm';
import type { MySql2Database } from 'drizzle-orm/mysql2';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import { drizzle as drizzleProxy } from 'drizzle-orm/pg-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { drizzleOutbox, SUPPORTED_DRIVERS, type DrizzleOutbox } from '../../src/index.js';
import type { DrizzleDatabaseKind, DrizzleTestDatabase } from './databases.js';

type AsyncDb = NodePgDatabase | MySql2Database;
type AnyTx = Parameters<Parameters<NodePgDatabase['transaction']>[0]>[0];

/** Runs `work` in a transaction of either async driver's database (their `transaction` types differ only in `tx`). */
const transactionOf = (db: AsyncDb) => db as unknown as { transaction<T>(work: (tx: AnyTx) => Promise<T>, config?: object): Promise<T> };

const placed = (key: string): EventInput => ({ aggregateType: 'order', aggregateId: key, type: 'order.placed', payload: { key } });

/**
 * What only the Drizzle plugin has on node-postgres and mysql2, besides the conformance suite:
 * its refusals (at setup and at `outbox(tx)`), Drizzle's own rollback, and one wake-up per commit
 * however many outboxes share the database.
 */
export function describeAsyncDrizzleOutbox(kind: DrizzleDatabaseKind<AsyncDb>): void {
  describe(`Drizzle outbox on ${kind.name}: refusals and Drizzle specifics`, () => {
    let setup: DrizzleTestDatabase<AsyncDb>;
    let outbox: DrizzleOutbox;

    beforeAll(async () => {
      setup = await kind.setup();
      outbox = await drizzleOutbox(setup.db, { dialect: setup.dialect });
    });

    afterAll(async () => {
      await setup?.dispose();
    });

    const delivery = useDeliveryHooks(() => setup);
    const { pending } = delivery;
    const transaction = <T>(work: (tx: AnyTx) => Promise<T>, config?: object) => transactionOf(setup.db).transaction(work, config);

    it('refuses at setup a dialect of another database, unknown options, a transaction and an unsupported driver, naming the option', async () => {
      const mismatch = await drizzleOutbox(setup.db, { dialect: setup.wrongDialect }).catch((error: unknown) => error);
      expect(mismatch).toBeInstanceOf(OutboxConfigError);
      expect(mismatch).toMatchObject({ option: 'dialect' });
      expect((mismatch as Error).message).toContain(`the dialect is "${setup.wrongDialect.name}"`);
      await expect(drizzleOutbox(setup.db, {} as never)).rejects.toThrow(/dialect: is required/);
      await expect(drizzleOutbox(setup.db, { dialect: setup.dialect, notify: true } as never)).rejects.toThrow(/notify: unknown option/);
      await expect(drizzleOutbox({} as never, { dialect: setup.dialect })).rejects.toThrow(/expects a Drizzle database/);
      await transaction(async (tx) => {
        await expect(drizzleOutbox(tx as never, { dialect: setup.dialect })).rejects.toThrow(/not a transaction/);
      });
      const proxy = drizzleProxy(async () => ({ rows: [] }));
      const unsupported = await drizzleOutbox(proxy, { dialect: setup.dialect }).catch((error: unknown) => error);
      expect(unsupported).toMatchObject({ option: 'db' });
      expect((unsupported as Error).message).toContain(`supported drivers: ${SUPPORTED_DRIVERS.join(', ')}`);
    });

    it('outbox(db), outbox of anything else, of a finished transaction or of another database instance throw at once and write nothing', async () => {
      expect(() => outbox(setup.db as never)).toThrow(OutboxTransactionRequiredError);
      expect(() => outbox(setup.db as never)).toThrow(/the Drizzle database, not a transaction/);
      expect(() => outbox({ session: {} } as never)).toThrow(/not a Drizzle transaction/);
      const finished = await transaction(async (tx) => tx);
      expect(() => outbox(finished).add(placed(uniqueName('late')))).toThrow(/already committed or rolled back/);
      // The same pool under another Drizzle instance: its transactions are not this outbox's.
      const client = (setup.db as unknown as { $client: never }).$client;
      const other = kind.name.startsWith('PostgreSQL')
        ? (await import('drizzle-orm/node-postgres')).drizzle({ client })
        : (await import('drizzle-orm/mysql2')).drizzle({ client });
      await transactionOf(other).transaction(async (tx) => {
        expect(() => outbox(tx)).toThrow(/belongs to another Drizzle database/);
      });
      expect(await pending()).toBe(0);
    });

    it("tx.rollback() (Drizzle's TransactionRollbackError) takes the events along and wakes nobody", async () => {
      await expect(
        transaction(async (tx) => {
          expect(await outbox(tx).add([placed(uniqueName('rb')), placed(uniqueName('rb'))])).toHaveLength(2);
          tx.rollback();
        }),
      ).rejects.toBeInstanceOf(TransactionRollbackError);
      expect(delivery.signals).toBe(0);
      expect(await pending()).toBe(0);
    });

    it('two outboxes on one database wake relays once per commit, and the relay delivers both events', async () => {
      const second = await drizzleOutbox(setup.db, { dialect: setup.dialect });
      const written = await transaction(async (tx) => [
        ...(await outbox(tx).add(placed(uniqueName('two')))),
        ...(await second(tx).add(placed(uniqueName('two')))),
      ]);
      delivery.bench.record(written, 'committed');
      expect(delivery.signals).toBe(1);
      expect((await delivery.bench.deliverAndCheck()).drained.published).toBe(2);
    });
  });
}
