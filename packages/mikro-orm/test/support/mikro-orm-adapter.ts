import type { EntityManager } from '@mikro-orm/core';
import type { OrmAdapter } from '@outboxkit/testkit';
import { mikroOrmInbox, outbox } from '../../src/index.js';
import type { OrmDatabaseKind } from './databases.js';
import { OrderSchema } from './entities.js';

/**
 * The MikroORM plugin as the ORM-adapter conformance suite drives it: a forked EntityManager in
 * `em.transactional`, nested `em.transactional` for savepoints, entities persisted on the unit
 * of work (the transaction's flush writes them) and `outbox.add` followed by a flush, so the
 * events are in the transaction when the write resolves.
 */
export function mikroOrmAdapter(kind: OrmDatabaseKind): OrmAdapter<EntityManager> {
  return {
    name: `MikroORM on ${kind.name}`,
    // outbox.add queues on a unit of work; its flush always has a transaction, so there is no
    // call "outside a transaction" to refuse. It returns envelopes: sequences come at the flush.
    features: { nestedTransactions: true, callableOutsideTransaction: false, returnsSequences: false },
    async setup() {
      const db = await kind.setup((dialect) => ({ dialect }));
      const { orm } = db;
      return {
        dialect: db.dialect,
        database: db.relayDatabase,
        root: orm.em,
        transaction: (work) => orm.em.fork().transactional((em) => work(em)),
        nested: (em, work) => em.transactional((nestedEm) => work(nestedEm)),
        insertRow: async (em, key) => {
          // Not flushed: the transaction's flush (or the next write's) writes it.
          em.persist(em.create(OrderSchema, { number: key, total: 5 }));
        },
        countRows: async (key, em) => {
          if (em === undefined) return orm.em.fork().count(OrderSchema, { number: key });
          await em.flush();
          return em.count(OrderSchema, { number: key });
        },
        writeEvents: async (em, events) => {
          const envelopes = outbox.add(em, events);
          await em.flush();
          return envelopes;
        },
        inbox: () => mikroOrmInbox(orm),
        dispose: () => db.dispose(),
      };
    },
  };
}
