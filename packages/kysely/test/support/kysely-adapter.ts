import type { Transaction } from 'kysely';
import type { OrmAdapter } from '@outboxkit/testkit';
import { kyselyInbox, kyselyOutbox } from '../../src/index.js';
import { countOrders, type KyselyDatabaseKind, type ShopDatabase } from './databases.js';

/**
 * The plugin as the ORM-adapter conformance suite drives it: `db.transaction().execute(...)`,
 * `outbox(trx).add`, and `kyselyInbox(db)`. Kysely nests no `db.transaction()`: its savepoints
 * belong to controlled transactions (`db.startTransaction()`), which kysely-suite.ts checks.
 */
export function kyselyAdapter(kind: KyselyDatabaseKind): OrmAdapter<Transaction<ShopDatabase>> {
  return {
    name: `Kysely on ${kind.name}`,
    features: { nestedTransactions: false, callableOutsideTransaction: true, returnsSequences: true },
    async setup() {
      const { db, dialect, database, dispose } = await kind.setup();
      const outbox = kyselyOutbox(db, { dialect });
      return {
        dialect,
        database,
        root: db,
        transaction: (work) => db.transaction().execute(work),
        insertRow: async (trx, key) => void (await trx.insertInto('orders').values({ number: key, total: 5 }).execute()),
        countRows: (key, trx) => countOrders(trx ?? db, key),
        writeEvents: (trx, events) => outbox(trx).add(events),
        writeWithoutTransaction: (events) => outbox(db as never).add(events),
        inbox: () => kyselyInbox(db),
        dispose,
      };
    },
  };
}
