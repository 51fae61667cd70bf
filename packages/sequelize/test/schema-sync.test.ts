import { DataTypes, type Model, type ModelStatic } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSequelizeOutbox } from '../src/index.js';
import { mysqlTarget, postgresTarget, sqliteTarget, type TestDatabase, type TestTarget } from './support.js';

interface OrderAttributes {
  id: string;
  total: number;
}
type OrderModel = Model<OrderAttributes, OrderAttributes> & OrderAttributes;

/**
 * Sequelize's schema tools only touch the tables of defined models: `sync({ alter: true })`
 * alters (and on SQLite rebuilds) them, `sync({ force: true })` and `sequelize.drop()` drop and
 * re-create them. The outbox tables have no model, so they and their pending events stay. This
 * is Sequelize's behaviour, not something the plugin configures: the test guards it per database.
 */
function describeSchemaSync(target: TestTarget): void {
  describe(`Sequelize schema tools on ${target.name} leave the outbox tables alone`, () => {
    let db: TestDatabase;
    let Order: ModelStatic<OrderModel>;
    const columns = { id: { type: DataTypes.STRING(64), primaryKey: true }, total: { type: DataTypes.INTEGER, allowNull: false } };
    const defineOrder = (extra = {}): ModelStatic<OrderModel> => {
      const schema = db.modelSchema === undefined ? {} : { schema: db.modelSchema };
      return db.sequelize.define<OrderModel>('Order', { ...columns, ...extra }, { tableName: 'orders', timestamps: false, ...schema });
    };

    beforeAll(async () => {
      db = await target.setup();
      Order = defineOrder();
      await db.sequelize.sync();
      const outbox = createSequelizeOutbox(db.sequelize, { dialect: db.dialect });
      // A pending event the relay has not published yet: what a drop would lose.
      await db.sequelize.transaction(async (transaction) => {
        await Order.create({ id: 'o-1', total: 5 }, { transaction });
        await outbox.add({ aggregateType: 'order', aggregateId: 'o-1', type: 'order.placed', payload: null }, { transaction });
      });
    });

    afterAll(async () => {
      await db?.dispose();
    });

    /** The pending event is still there, and every outbox table too: the relay's migrate has nothing to apply. */
    async function expectOutboxIntact(): Promise<void> {
      expect(await db.dialect.countPending(db.relayDatabase)).toBe(1);
      expect(await db.dialect.migrate(db.relayDatabase)).toEqual([]);
    }

    it('sync({ alter: true }) after a model change alters the model table only', async () => {
      // The model gains a column: alter has something to do on the model's table.
      Order = defineOrder({ note: { type: DataTypes.STRING(32), allowNull: true } });
      await db.sequelize.sync({ alter: true });
      const columns = await db.sequelize.getQueryInterface().describeTable(Order.getTableName());
      expect(Object.keys(columns)).toContain('note');
      await expectOutboxIntact();
    });

    it('sync({ force: true }) re-creates the model table only', async () => {
      await db.sequelize.sync({ force: true });
      expect(await Order.count()).toBe(0);
      await expectOutboxIntact();
    });

    it('sequelize.drop() drops the model tables only', async () => {
      await db.sequelize.drop();
      await expectOutboxIntact();
    });
  });
}

describeSchemaSync(postgresTarget);
describeSchemaSync(mysqlTarget);
describeSchemaSync(sqliteTarget);
