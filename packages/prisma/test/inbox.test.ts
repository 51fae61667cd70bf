import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3';
import { PrismaMariaDb } from '@prisma/adapter-mariadb';
import { PrismaPg } from '@prisma/adapter-pg';
import { type Dialect, type InboxDialect, type SqlDatabase, type StoredEvent } from '@outboxkit/core';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { createInboxConsumer, INBOX_HEADERS, toAmqpMessage, type InboxConsumer } from '@outboxkit/rabbitmq';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { RabbitTestBed, serviceUrl, storedEvent, uniqueName, waitFor, withPostgresSchema } from '@outboxkit/testkit';
import { Connection } from 'rabbitmq-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outbox, prismaInbox } from '../src/index.js';
import { BUSINESS_TABLES } from './support/harness.js';
import { loadTestClients, type TestPrismaClient } from './support/test-clients.js';

const clients = await loadTestClients();

/** One isolated database per database kind in this file, with the outbox (and inbox) tables migrated through the dialect's own pool. */
interface InboxTestDatabase {
  readonly prisma: TestPrismaClient;
  readonly dialect: Dialect & InboxDialect;
  /** The dialect's own pool on the same tables, for looking at the inbox from outside Prisma. */
  readonly database: SqlDatabase;
  dispose(): Promise<void>;
}

const DATABASES: readonly { name: string; setup(): Promise<InboxTestDatabase> }[] = [
  {
    name: 'PostgreSQL',
    async setup() {
      const schema = await withPostgresSchema({ prefix: 'okpinbox' });
      const database = pgDatabase(createPgPool(schema.url, { max: 4 }));
      const dialect = createPostgresDialect({ tables: { schema: schema.schema } });
      await dialect.migrate(database);
      for (const statement of BUSINESS_TABLES.postgresql(schema.schema)) await database.query(statement);
      const prisma = new clients.postgresql({ adapter: new PrismaPg({ connectionString: schema.url }, { schema: schema.schema }) });
      return {
        prisma: prisma as unknown as TestPrismaClient,
        dialect,
        database,
        async dispose() {
          await prisma.$disconnect();
          await database.close();
          await schema.drop();
        },
      };
    },
  },
  {
    name: 'MariaDB',
    async setup() {
      const serverUrl = await serviceUrl('mysql');
      const name = uniqueName('okpinbox');
      const database = mysqlDatabase(createMysqlPool(serverUrl, { connectionLimit: 4 }));
      await database.query(`CREATE DATABASE \`${name}\``);
      const dialect = createMysqlDialect({ tables: { schema: name } });
      await dialect.migrate(database);
      for (const statement of BUSINESS_TABLES.mysql(name)) await database.query(statement);
      const url = new URL(serverUrl);
      const prisma = new clients.mysql({
        adapter: new PrismaMariaDb({
          host: url.hostname,
          port: Number(url.port || 3306),
          user: decodeURIComponent(url.username),
          password: decodeURIComponent(url.password),
          database: name,
          connectionLimit: 4,
        }),
      });
      return {
        prisma: prisma as unknown as TestPrismaClient,
        dialect,
        database,
        async dispose() {
          await prisma.$disconnect();
          await database.query(`DROP DATABASE IF EXISTS \`${name}\``);
          await database.close();
        },
      };
    },
  },
  {
    name: 'SQLite',
    async setup() {
      const dir = mkdtempSync(join(tmpdir(), 'outboxkit-prisma-inbox-'));
      const path = join(dir, 'shop.db');
      const database = openSqliteDatabase(path);
      const dialect = createSqliteDialect();
      await dialect.migrate(database);
      for (const statement of BUSINESS_TABLES.sqlite()) await database.query(statement);
      const prisma = new clients.sqlite({ adapter: new PrismaBetterSqlite3({ url: `file:${path}` }) });
      return {
        prisma: prisma as unknown as TestPrismaClient,
        dialect,
        database,
        async dispose() {
          await prisma.$disconnect();
          await database.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

describe.each(DATABASES)('Prisma inbox on $name', ({ setup }) => {
  let db: InboxTestDatabase;
  let bed: RabbitTestBed;
  let amqp: Connection;
  const consumers: InboxConsumer[] = [];

  beforeAll(async () => {
    bed = new RabbitTestBed(await serviceUrl('rabbitmq'));
    amqp = bed.connection;
    db = await setup();
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.close();
    await bed?.close();
    await db?.dispose();
  });

  const newQueue = (): Promise<string> => bed.declare(uniqueName('okp_inbox'));
  const publish = (queue: string, event: StoredEvent): Promise<void> => bed.publish(queue, event);

  const ordersNumbered = (number: string) => db.prisma.order.count({ where: { number } });

  it('applies a message delivered three times once (written through the handler tx) and counts two duplicates', async () => {
    const queue = await newQueue();
    const event = storedEvent({ aggregateId: 'prisma-dup' });
    for (let i = 0; i < 3; i++) await publish(queue, event);
    const errors: unknown[] = [];
    const runs: string[] = [];
    const consumer = createInboxConsumer({
      connection: amqp,
      queue,
      consumer: `c_${queue}`,
      db: prismaInbox(db.prisma),
      dialect: db.dialect,
      handler: async (delivered, tx) => {
        runs.push(delivered.id);
        await tx.order.create({ data: { number: delivered.id, total: 5 } });
      },
      retryDelayMs: 10,
      // A duplicate the dialect failed to recognise would be reported here and requeued forever.
      observer: { onError: (error) => errors.push(error) },
    });
    consumers.push(consumer);
    await consumer.ready();

    await waitFor('3 deliveries or an error', () => errors.length > 0 || consumer.stats().processed + consumer.stats().duplicates === 3);

    expect(errors).toEqual([]);
    expect(consumer.stats()).toMatchObject({ processed: 1, duplicates: 2, failed: 0, deadLettered: 0 });
    expect(runs).toEqual([event.id]);
    expect(await ordersNumbered(event.id)).toBe(1);
    expect(await db.dialect.inboxContains(db.database, `c_${queue}`, [event.id])).toEqual([event.id]);
    const { messageCount } = await amqp.queueDeclare({ queue, passive: true });
    expect(messageCount).toBe(0);
  });

  it('a handler that throws after its Prisma write leaves neither the row nor the inbox key; retried, then dead-lettered', async () => {
    const queue = await newQueue();
    const event = storedEvent({ aggregateId: 'prisma-poison' });
    await publish(queue, event);
    const attempts: number[] = [];
    const visibleInTx: number[] = [];
    const errors: unknown[] = [];
    const consumer = createInboxConsumer({
      connection: amqp,
      queue,
      consumer: `c_${queue}`,
      db: prismaInbox(db.prisma),
      dialect: db.dialect,
      handler: async (delivered, tx) => {
        await tx.order.create({ data: { number: delivered.id, total: 5 } });
        // The row is in the transaction: visible through tx before the rollback.
        visibleInTx.push(await tx.order.count({ where: { number: delivered.id } }));
        throw new Error(`cannot invoice ${delivered.id}`);
      },
      maxAttempts: 3,
      retryDelayMs: 10,
      observer: { onFailed: ({ attempt }) => attempts.push(attempt), onError: (error) => errors.push(error) },
    });
    consumers.push(consumer);
    await consumer.ready();

    await waitFor('the dead letter', () => consumer.stats().deadLettered === 1);

    expect(errors).toEqual([]);
    expect(attempts).toEqual([1, 2, 3]);
    expect(visibleInTx).toEqual([1, 1, 1]);
    expect(consumer.stats()).toMatchObject({ processed: 0, duplicates: 0, failed: 3, deadLettered: 1 });
    expect(await ordersNumbered(event.id)).toBe(0);
    expect(await db.dialect.inboxContains(db.database, `c_${queue}`, [event.id])).toEqual([]);
    const dead = await amqp.basicGet({ queue: `${queue}.dead`, noAck: true });
    expect(dead?.messageId).toBe(event.id);
    expect(dead?.headers?.[INBOX_HEADERS.attempts]).toBe(3);
    expect(dead?.headers?.[INBOX_HEADERS.error]).toBe(`Error: cannot invoice ${event.id}`);
    expect(await amqp.basicGet({ queue: `${queue}.dead`, noAck: true })).toBeUndefined();
  });

  it('on an outbox()-extended client the handler can emit an event that commits with its effect, once', async () => {
    const queue = await newQueue();
    const event = storedEvent({ aggregateId: 'prisma-chain' });
    for (let i = 0; i < 2; i++) await publish(queue, event);
    const prisma = db.prisma.$extends(outbox({ dialect: db.dialect }));
    const pendingBefore = Number(await db.dialect.countPending(db.database));
    const errors: unknown[] = [];
    const consumer = createInboxConsumer({
      connection: amqp,
      queue,
      consumer: `c_${queue}`,
      db: prismaInbox(prisma),
      dialect: db.dialect,
      handler: async (delivered, tx) => {
        const order = await tx.order.create({ data: { number: delivered.id, total: 5 } });
        await tx.$outbox({ aggregateType: 'invoice', aggregateId: order.id, type: 'InvoiceIssued', payload: { orderNumber: delivered.id } });
      },
      retryDelayMs: 10,
      observer: { onError: (error) => errors.push(error) },
    });
    consumers.push(consumer);
    await consumer.ready();

    await waitFor('2 deliveries or an error', () => errors.length > 0 || consumer.stats().processed + consumer.stats().duplicates === 2);

    expect(errors).toEqual([]);
    expect(consumer.stats()).toMatchObject({ processed: 1, duplicates: 1 });
    expect(await ordersNumbered(event.id)).toBe(1);
    expect(Number(await db.dialect.countPending(db.database)) - pendingBefore).toBe(1);
  });
});

describe('Prisma inbox: transaction options', () => {
  let db: InboxTestDatabase;
  let amqp: Connection;
  let queue: string;
  let consumer: InboxConsumer | undefined;

  beforeAll(async () => {
    amqp = new Connection(await serviceUrl('rabbitmq'));
    db = await DATABASES.find((candidate) => candidate.name === 'PostgreSQL')!.setup();
    queue = uniqueName('okp_inbox_opts');
    await amqp.queueDeclare({ queue, durable: true });
  });

  afterAll(async () => {
    await consumer?.close();
    await amqp.queueDelete({ queue }).catch(() => undefined);
    await amqp.queueDelete({ queue: `${queue}.dead` }).catch(() => undefined);
    await amqp.exchangeDelete({ exchange: `${queue}.dlx` }).catch(() => undefined);
    await amqp?.close();
    await db?.dispose();
  });

  it('runs each delivery with the given isolation level (PostgreSQL)', async () => {
    const levels: string[] = [];
    consumer = createInboxConsumer({
      connection: amqp,
      queue,
      consumer: `c_${queue}`,
      db: prismaInbox(db.prisma, { isolationLevel: 'Serializable', timeout: 20_000 }),
      dialect: db.dialect,
      handler: async (_event, tx) => {
        const [row] = await tx.$queryRawUnsafe<{ transaction_isolation: string }[]>('SHOW transaction_isolation');
        levels.push(row!.transaction_isolation);
      },
      retryDelayMs: 10,
    });
    await consumer.ready();
    const publisher = amqp.createPublisher({ confirm: true });
    const { properties, body } = toAmqpMessage(storedEvent({ aggregateId: 'prisma-isolation' }));
    await publisher.send({ ...properties, exchange: '', routingKey: queue }, body);
    await publisher.close();

    await waitFor('the delivery', () => consumer!.stats().processed === 1);

    expect(levels).toEqual(['serializable']);
  });
});
