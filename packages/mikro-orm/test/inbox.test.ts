import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/core';
import { BetterSqliteDriver } from '@mikro-orm/better-sqlite';
import { MariaDbDriver } from '@mikro-orm/mariadb';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import { type Dialect, type InboxDialect, type SqlDatabase, type StoredEvent } from '@outboxkit/core';
import { createMysqlDialect, createMysqlPool, mysqlDatabase } from '@outboxkit/mysql';
import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { createInboxConsumer, INBOX_HEADERS, type InboxConsumer } from '@outboxkit/rabbitmq';
import { createSqliteDialect, openSqliteDatabase } from '@outboxkit/sqlite';
import { RabbitTestBed, serviceUrl, storedEvent, uniqueName, waitFor, withPostgresSchema } from '@outboxkit/testkit';
import { Connection } from 'rabbitmq-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mikroOrmInbox, outbox, withOutbox } from '../src/index.js';
import { ENTITIES, OrderSchema } from './support/entities.js';

/**
 * One isolated database per database kind in this file: the ORM's tables and the outbox/inbox tables (migrated through the
 * dialect's own pool). The ORM is set up withOutbox, as a service that consumes and produces events would be.
 */
interface InboxTestDatabase {
  readonly orm: MikroORM;
  readonly dialect: Dialect & InboxDialect;
  /** The dialect's own pool on the same tables, for looking at the inbox from outside the ORM. */
  readonly database: SqlDatabase;
  dispose(): Promise<void>;
}

const DATABASES: readonly { name: string; setup(): Promise<InboxTestDatabase> }[] = [
  {
    name: 'PostgreSQL',
    async setup() {
      const serverUrl = await serviceUrl('postgres');
      const { schema, drop } = await withPostgresSchema({ prefix: 'okmoinbox' });
      const dialect = createPostgresDialect({ tables: { schema } });
      const database = pgDatabase(createPgPool(serverUrl, { max: 4 }));
      await dialect.migrate(database);
      const orm = await MikroORM.init(withOutbox({ driver: PostgreSqlDriver, clientUrl: serverUrl, schema, entities: ENTITIES, debug: false }, { dialect }));
      await orm.schema.createSchema({ schema });
      return {
        orm,
        dialect,
        database,
        async dispose() {
          await orm.close(true);
          await database.close();
          await drop();
        },
      };
    },
  },
  {
    name: 'MariaDB',
    async setup() {
      const serverUrl = await serviceUrl('mysql');
      const name = uniqueName('okmoinbox');
      const database = mysqlDatabase(createMysqlPool(serverUrl, { connectionLimit: 4 }));
      await database.query(`CREATE DATABASE \`${name}\``);
      const dialect = createMysqlDialect({ tables: { schema: name } });
      await dialect.migrate(database);
      const server = new URL(serverUrl);
      const orm = await MikroORM.init(
        withOutbox(
          {
            driver: MariaDbDriver,
            clientUrl: `${server.protocol}//${server.username ? `${server.username}@` : ''}${server.host}`,
            password: decodeURIComponent(server.password) || undefined,
            dbName: name,
            entities: ENTITIES,
            debug: false,
          },
          { dialect },
        ),
      );
      await orm.schema.createSchema();
      return {
        orm,
        dialect,
        database,
        async dispose() {
          await orm.close(true);
          await database.query(`DROP DATABASE IF EXISTS \`${name}\``);
          await database.close();
        },
      };
    },
  },
  {
    name: 'SQLite',
    async setup() {
      const dir = mkdtempSync(join(tmpdir(), 'outboxkit-mikro-orm-inbox-'));
      const file = join(dir, 'app.db');
      const dialect = createSqliteDialect();
      const database = openSqliteDatabase(file);
      await dialect.migrate(database);
      const orm = await MikroORM.init(withOutbox({ driver: BetterSqliteDriver, dbName: file, entities: ENTITIES, debug: false }, { dialect }));
      await orm.schema.createSchema();
      return {
        orm,
        dialect,
        database,
        async dispose() {
          await orm.close(true);
          await database.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  },
];

describe.each(DATABASES)('MikroORM inbox on $name', ({ setup }) => {
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

  const newQueue = (): Promise<string> => bed.declare(uniqueName('okmo_inbox'));
  const publish = (queue: string, event: StoredEvent): Promise<void> => bed.publish(queue, event);

  /** Counted through the ORM, on a fresh fork: what is committed. */
  const ordersNumbered = (number: string) => db.orm.em.fork().count(OrderSchema, { number });

  it('applies a message delivered three times once (an entity persisted on the handler em) and counts two duplicates', async () => {
    const queue = await newQueue();
    const event = storedEvent({ aggregateId: 'mikro-dup' });
    for (let i = 0; i < 3; i++) await publish(queue, event);
    const errors: unknown[] = [];
    const runs: string[] = [];
    const consumer = createInboxConsumer({
      connection: amqp,
      queue,
      consumer: `c_${queue}`,
      db: mikroOrmInbox(db.orm),
      dialect: db.dialect,
      handler: async (delivered, em) => {
        runs.push(delivered.id);
        // Not flushed here: em.transactional flushes it before the commit.
        em.create(OrderSchema, { number: delivered.id, total: 5 });
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

  it('a handler that throws after flushing an entity leaves neither the row nor the inbox key; retried, then dead-lettered', async () => {
    const queue = await newQueue();
    const event = storedEvent({ aggregateId: 'mikro-poison' });
    await publish(queue, event);
    const attempts: number[] = [];
    const visibleInTx: number[] = [];
    const errors: unknown[] = [];
    const consumer = createInboxConsumer({
      connection: amqp,
      queue,
      consumer: `c_${queue}`,
      db: mikroOrmInbox(db.orm),
      dialect: db.dialect,
      handler: async (delivered, em) => {
        em.create(OrderSchema, { number: delivered.id, total: 5 });
        await em.flush();
        // Flushed inside the transaction: visible to it before the rollback.
        visibleInTx.push(await em.count(OrderSchema, { number: delivered.id }));
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

  it('concurrent deliveries each get their own EntityManager', async () => {
    const queue = await newQueue();
    const events = Array.from({ length: 6 }, (_, i) => storedEvent({ aggregateId: `mikro-concurrent-${i}` }));
    for (const event of events) await publish(queue, event);
    const managers = new Set<unknown>();
    const errors: unknown[] = [];
    const consumer = createInboxConsumer({
      connection: amqp,
      queue,
      consumer: `c_${queue}`,
      db: mikroOrmInbox(db.orm),
      dialect: db.dialect,
      handler: async (delivered, em) => {
        managers.add(em);
        em.create(OrderSchema, { number: delivered.id, total: 5 });
      },
      concurrency: 3,
      retryDelayMs: 10,
      observer: { onError: (error) => errors.push(error) },
    });
    consumers.push(consumer);
    await consumer.ready();

    await waitFor('6 deliveries or an error', () => errors.length > 0 || consumer.stats().processed === 6);

    expect(errors).toEqual([]);
    expect(managers.size).toBe(6);
    expect(managers.has(db.orm.em)).toBe(false);
    for (const event of events) expect(await ordersNumbered(event.id)).toBe(1);
  });

  it('outbox.add in the handler: the emitted event commits with the entity and the inbox row, once', async () => {
    const queue = await newQueue();
    const event = storedEvent({ aggregateId: 'mikro-chain' });
    for (let i = 0; i < 2; i++) await publish(queue, event);
    const pendingBefore = Number(await db.dialect.countPending(db.database));
    const errors: unknown[] = [];
    const consumer = createInboxConsumer({
      connection: amqp,
      queue,
      consumer: `c_${queue}`,
      db: mikroOrmInbox(db.orm),
      dialect: db.dialect,
      handler: async (delivered, em) => {
        em.create(OrderSchema, { number: delivered.id, total: 5 });
        outbox.add(em, { aggregateType: 'invoice', aggregateId: delivered.id, type: 'InvoiceIssued', payload: { orderNumber: delivered.id } });
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
