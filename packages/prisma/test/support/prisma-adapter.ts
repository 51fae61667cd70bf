import type { WriterDialect } from '@outboxkit/core';
import type { OrmAdapter } from '@outboxkit/testkit';
import { outbox, prismaInbox, type PrismaInteractiveClient } from '../../src/index.js';
import type { PrismaDatabaseKind } from './databases.js';
import type { TestPrismaClient } from './test-clients.js';

const withOutbox = (prisma: TestPrismaClient, dialect: WriterDialect) => prisma.$extends(outbox({ dialect }));
type TransactionClientOf<Client> = Client extends PrismaInteractiveClient<infer Tx> ? Tx : never;
/** The interactive-transaction client of an `outbox()`-extended client: what `$transaction(fn)` hands `fn`. */
export type OutboxTransactionClient = TransactionClientOf<ReturnType<typeof withOutbox>>;

/**
 * The Prisma extension as the ORM-adapter conformance suite drives it: an `outbox()`-extended
 * client, `tx.$outbox` in interactive transactions, nested `tx.$transaction` for savepoints,
 * and `prismaInbox` over the same extended client (so handlers can call `tx.$outbox` too).
 */
export function prismaAdapter(kind: PrismaDatabaseKind): OrmAdapter<OutboxTransactionClient> {
  return {
    name: `Prisma on ${kind.name}`,
    features: { nestedTransactions: true, callableOutsideTransaction: true, returnsSequences: true },
    async setup() {
      const db = await kind.setup();
      const client = withOutbox(db.prisma, db.dialect);
      return {
        dialect: db.dialect,
        database: db.database,
        root: client,
        transaction: (work) => client.$transaction((tx) => work(tx)),
        nested: (tx, work) => tx.$transaction((nestedTx) => work(nestedTx)),
        insertRow: async (tx, key) => {
          await tx.order.create({ data: { number: key, total: 5 } });
        },
        countRows: (key, tx) => (tx ?? client).order.count({ where: { number: key } }),
        writeEvents: (tx, events) => tx.$outbox(events),
        // A type error too (the base client is not the transaction client): the suite checks the run-time refusal.
        // @ts-expect-error $outbox on the base client
        writeWithoutTransaction: (events) => client.$outbox(events),
        inbox: () => prismaInbox(client),
        dispose: () => db.dispose(),
      };
    },
  };
}
