import type { EntityManager } from 'typeorm';
import type { OrmAdapter } from '@outboxkit/testkit';
import { createTypeormOutbox, typeormInbox } from '../../src/index.js';
import { ConformanceRow, type TypeormTarget } from './databases.js';

/**
 * The TypeORM plugin as the ORM-adapter conformance suite drives it: `dataSource.transaction`,
 * nested `manager.transaction` (savepoints on the same QueryRunner), `outbox.add(manager, events)`
 * and `typeormInbox`.
 */
export function typeormAdapter(target: TypeormTarget): OrmAdapter<EntityManager> {
  return {
    name: `TypeORM on ${target.name}`,
    features: { nestedTransactions: true, callableOutsideTransaction: true, returnsSequences: true },
    async setup() {
      const db = await target.setup();
      const { dataSource } = db;
      const outbox = createTypeormOutbox(dataSource, { dialect: db.dialect });
      return {
        dialect: db.dialect,
        database: db.relayDatabase,
        root: dataSource.manager,
        transaction: (work) => dataSource.transaction((manager) => work(manager)),
        nested: (manager, work) => manager.transaction((nested) => work(nested)),
        insertRow: async (manager, key) => {
          await manager.insert(ConformanceRow, { id: key, total: 5 });
        },
        countRows: (key, manager) => (manager ?? dataSource.manager).countBy(ConformanceRow, { id: key }),
        writeEvents: (manager, events) => outbox.add(manager, events),
        writeWithoutTransaction: (events) => outbox.add(dataSource.manager, events),
        inbox: () => typeormInbox(dataSource),
        dispose: () => db.dispose(),
      };
    },
  };
}
