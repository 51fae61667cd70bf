import { DataTypes, type Model, type Transaction } from 'sequelize';
import type { OrmAdapter } from '@outboxkit/testkit';
import { createSequelizeOutbox, sequelizeInbox } from '../src/index.js';
import type { TestTarget } from './support.js';

interface RowAttributes {
  /** The suite's key: the primary key, so writing a key twice fails loudly. */
  id: string;
  total: number;
}
type RowModel = Model<RowAttributes, RowAttributes> & RowAttributes;

/**
 * The Sequelize plugin as the ORM-adapter conformance suite drives it: managed
 * `sequelize.transaction(fn)`, savepoints with `{ transaction }`, `outbox.add(events, { transaction })`
 * and `sequelizeInbox`, with one model on the test database.
 */
export function sequelizeAdapter(target: TestTarget): OrmAdapter<Transaction> {
  return {
    name: `Sequelize on ${target.name}`,
    features: { nestedTransactions: true, callableOutsideTransaction: true, returnsSequences: true },
    async setup() {
      const db = await target.setup();
      const { sequelize } = db;
      const schema = db.modelSchema === undefined ? {} : { schema: db.modelSchema };
      const Row = sequelize.define<RowModel>(
        'ConformanceRow',
        { id: { type: DataTypes.STRING(64), primaryKey: true }, total: { type: DataTypes.INTEGER, allowNull: false } },
        { tableName: 'conformance_rows', timestamps: false, ...schema },
      );
      await sequelize.sync();
      const outbox = createSequelizeOutbox(sequelize, { dialect: db.dialect });
      return {
        dialect: db.dialect,
        database: db.relayDatabase,
        root: sequelize,
        transaction: (work) => sequelize.transaction((transaction) => work(transaction)),
        nested: (transaction, work) => sequelize.transaction({ transaction }, (savepoint) => work(savepoint)),
        insertRow: async (transaction, key) => {
          await Row.create({ id: key, total: 5 }, { transaction });
        },
        countRows: (key, transaction) => Row.count({ where: { id: key }, ...(transaction === undefined ? {} : { transaction }) }),
        writeEvents: (transaction, events) => outbox.add(events, { transaction }),
        writeWithoutTransaction: (events) => outbox.add(events),
        inbox: () => sequelizeInbox(sequelize),
        dispose: () => db.dispose(),
      };
    },
  };
}
