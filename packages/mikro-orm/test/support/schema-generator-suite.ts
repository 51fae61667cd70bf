import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox } from '../../src/index.js';
import type { OrmDatabase, OrmDatabaseKind } from './databases.js';
import { OrderSchema } from './entities.js';

/**
 * MikroORM's schema generator diffs the entities against every table it finds in the database,
 * and drops the ones no entity maps: the outbox tables `outbox-relay migrate` created, with their
 * pending events. `withOutbox` tells the generator to leave them alone (`schemaGenerator.skipTables`);
 * these tests run the generator itself against a migrated database holding a pending event.
 */
export function describeSchemaGeneratorKeepsOutbox(kind: OrmDatabaseKind): void {
  describe(`MikroORM schema generator on ${kind.name} leaves the outbox tables alone`, () => {
    let db: OrmDatabase;

    beforeAll(async () => {
      db = await kind.setup((dialect) => ({ dialect }));
      // A pending event the relay has not published yet: what a drop would lose.
      const em = db.orm.em.fork();
      em.persist(em.create(OrderSchema, { number: 'S-1', total: 1 }));
      outbox.add(em, { aggregateType: 'order', aggregateId: 'S-1', type: 'order.placed', payload: null });
      await em.flush();
    });

    afterAll(async () => {
      await db?.dispose();
    });

    const outboxTables = () => Object.values(db.dialect.tables.names);
    /** The outbox table names a statement text mentions (as whole identifiers). */
    const mentioned = (sql: string) => outboxTables().filter((name) => new RegExp(`\\b${name}\\b`).test(sql));

    it('getUpdateSchemaSQL() proposes nothing for the outbox tables (no drop, no alter)', async () => {
      const sql = await db.orm.schema.getUpdateSchemaSQL({ wrap: false });
      expect(mentioned(sql)).toEqual([]);
    });

    it('the migration diff (what migration:create writes) leaves them out, up and down', async () => {
      const { up, down } = await db.orm.schema.getUpdateSchemaMigrationSQL({ wrap: false });
      expect(mentioned(up)).toEqual([]);
      expect(mentioned(down)).toEqual([]);
    });

    it('updateSchema() keeps every outbox table and the pending event; the relay still sees it', async () => {
      await db.orm.schema.updateSchema();
      expect(await db.dialect.countPending(db.relayDatabase)).toBe(1);
      // Every outbox table is still there: the relay's migrate has nothing to apply.
      expect(await db.dialect.migrate(db.relayDatabase)).toEqual([]);
    });

    it('the entities are still managed: a dropped entity table is re-created by updateSchema()', async () => {
      await db.orm.schema.dropSchema({ dropMigrationsTable: false });
      expect(await db.dialect.countPending(db.relayDatabase)).toBe(1);
      await db.orm.schema.updateSchema();
      const em = db.orm.em.fork();
      expect(await em.count(OrderSchema, {})).toBe(0);
      expect(await db.dialect.countPending(db.relayDatabase)).toBe(1);
    });
  });
}
