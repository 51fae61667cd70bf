import type { OrmAdapter } from '@outboxkit/testkit';
import { createKnexOutbox, knexInbox, type KnexTransaction } from '../../src/index.js';
import { countRows, type KnexTarget } from './databases.js';

/**
 * The Knex plugin as the ORM-adapter conformance suite drives it: `knex.transaction(fn)`,
 * nested `trx.transaction(fn)` (savepoints), `outbox.add(trx, events)` and `knexInbox`.
 */
export function knexAdapter(target: KnexTarget): OrmAdapter<KnexTransaction> {
  return {
    name: `Knex on ${target.name}`,
    features: { nestedTransactions: true, callableOutsideTransaction: true, returnsSequences: true },
    async setup() {
      const db = await target.setup();
      const { knex } = db;
      const outbox = createKnexOutbox(knex, { dialect: db.dialect });
      return {
        dialect: db.dialect,
        database: db.relayDatabase,
        root: knex,
        transaction: (work) => knex.transaction((trx) => work(trx)),
        nested: (trx, work) => trx.transaction((nested) => work(nested)),
        insertRow: async (trx, key) => {
          await trx('conformance_rows').insert({ id: key, total: 5 });
        },
        countRows: (key, trx) => countRows(trx ?? knex, 'conformance_rows', key),
        writeEvents: (trx, events) => outbox.add(trx, events),
        // The base instance in the handle's place: what a forgotten `trx` looks like.
        writeWithoutTransaction: (events) => outbox.add(knex as unknown as KnexTransaction, events),
        inbox: () => knexInbox(knex),
        dispose: () => db.dispose(),
      };
    },
  };
}
