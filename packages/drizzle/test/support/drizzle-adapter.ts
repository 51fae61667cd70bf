import type { BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import type { MySql2Database } from 'drizzle-orm/mysql2';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';
import type { OrmAdapter } from '@outboxkit/testkit';
import { drizzleInbox, drizzleOutbox, type DrizzleTransactionOf } from '../../src/index.js';
import { countOrders, mysqlOrders, pgOrders, sqliteOrders, type DrizzleDatabaseKind } from './databases.js';

type PgTx = DrizzleTransactionOf<NodePgDatabase>;
type MysqlTx = DrizzleTransactionOf<MySql2Database>;
type SqliteTx = DrizzleTransactionOf<BetterSQLite3Database>;

/** How the adapter writes and counts the business rows of one async driver. */
interface BusinessRows<Db, Tx> {
  insert(tx: Tx, key: string): Promise<unknown>;
  count(handle: Db | Tx, key: string): Promise<number>;
}

/**
 * The plugin on an asynchronous driver (node-postgres, mysql2) as the ORM-adapter conformance
 * suite drives it: `db.transaction(async (tx) => ...)`, nested `tx.transaction` for savepoints,
 * `outbox(tx).add`, and `drizzleInbox(db)`.
 */
function asyncAdapter<Db extends NodePgDatabase | MySql2Database>(
  kind: DrizzleDatabaseKind<Db>,
  rows: BusinessRows<Db, DrizzleTransactionOf<Db>>,
): OrmAdapter<DrizzleTransactionOf<Db>> {
  type Tx = DrizzleTransactionOf<Db>;
  return {
    name: `Drizzle on ${kind.name}`,
    features: { nestedTransactions: true, callableOutsideTransaction: true, returnsSequences: true },
    async setup() {
      const { db, dialect, database, dispose } = await kind.setup();
      const outbox = await drizzleOutbox(db, { dialect });
      const inbox = await drizzleInbox(db);
      const transactional = db as unknown as { transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> };
      return {
        dialect,
        database,
        root: db,
        transaction: (work) => transactional.transaction(work),
        nested: (tx, work) => (tx as unknown as typeof transactional).transaction(work),
        insertRow: async (tx, key) => void (await rows.insert(tx, key)),
        countRows: (key, tx) => rows.count(tx ?? db, key),
        writeEvents: (tx, events) => outbox(tx as PgTx).add(events),
        writeWithoutTransaction: (events) => outbox(db as never).add(events),
        inbox: () => inbox,
        dispose,
      };
    },
  };
}

export const postgresAdapter = (kind: DrizzleDatabaseKind<NodePgDatabase>): OrmAdapter<PgTx> =>
  asyncAdapter<NodePgDatabase>(kind, { insert: (tx, key) => tx.insert(pgOrders).values({ number: key, total: 5 }), count: countOrders.pg });

export const mysqlAdapter = (kind: DrizzleDatabaseKind<MySql2Database>): OrmAdapter<MysqlTx> =>
  asyncAdapter<MySql2Database>(kind, { insert: (tx, key) => tx.insert(mysqlOrders).values({ number: key, total: 5 }), count: countOrders.mysql });

/**
 * better-sqlite3: Drizzle's `db.transaction` there is synchronous, and every case of the suite
 * awaits inside its transaction, so the suite runs in the one asynchronous Drizzle transaction
 * the plugin has on SQLite: the inbox's, on its own connection, where `outbox(tx).add` writes as
 * it does in `db.transaction` (synchronously, before it returns). Savepoints of that transaction
 * would be synchronous too (`tx.transaction` releases before an await), so `nestedTransactions`
 * is off here; sqlite.test.ts checks the synchronous `db.transaction` idiom, savepoints included,
 * with the same guarantees.
 */
export function sqliteAdapter(kind: DrizzleDatabaseKind<BetterSQLite3Database>): OrmAdapter<SqliteTx> {
  return {
    name: `Drizzle on ${kind.name}, in the inbox's asynchronous transaction`,
    features: { nestedTransactions: false, callableOutsideTransaction: true, returnsSequences: true },
    async setup() {
      const { db, dialect, database, dispose } = await kind.setup();
      const outbox = await drizzleOutbox(db, { dialect });
      const inbox = await drizzleInbox(db);
      return {
        dialect,
        database,
        root: db,
        transaction: (work) => inbox.transaction(work),
        insertRow: async (tx, key) => void tx.insert(sqliteOrders).values({ number: key, total: 5 }).run(),
        countRows: async (key, tx) => countOrders.sqlite(tx ?? db, key),
        writeEvents: async (tx, events) => outbox(tx).add(events),
        writeWithoutTransaction: (events) => outbox(db as never).add(events),
        inbox: () => inbox,
        async dispose() {
          await inbox.close();
          await dispose();
        },
      };
    },
  };
}
