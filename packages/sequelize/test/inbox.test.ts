import { OutboxConfigError, type InboxDialect, type StoredEvent } from '@outboxkit/core';
import { createInboxConsumer, INBOX_HEADERS, type InboxConsumer } from '@outboxkit/rabbitmq';
import { RabbitTestBed, serviceUrl, storedEvent, uniqueName, waitFor } from '@outboxkit/testkit';
import { Connection } from 'rabbitmq-client';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sqlite3 from 'sqlite3';
import { DataTypes, Sequelize, Transaction, type Model, type ModelStatic } from 'sequelize';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sequelizeInbox } from '../src/index.js';
import { mysqlTarget, postgresTarget, sqliteTarget, type TestDatabase } from './support.js';

interface InvoiceAttributes {
  /** The event id: the business write is keyed by it, so a second application would fail loudly. */
  id: string;
  total: number;
}
type InvoiceModel = Model<InvoiceAttributes, InvoiceAttributes> & InvoiceAttributes;

// Each target gives this file its own database (schema, MariaDB database or SQLite file), dropped afterwards.
describe.each([postgresTarget, mysqlTarget, sqliteTarget])('Sequelize inbox on $name', (target) => {
  let db: TestDatabase;
  let dialect: InboxDialect;
  let Invoice: ModelStatic<InvoiceModel>;
  let bed: RabbitTestBed;
  let amqp: Connection;
  const consumers: InboxConsumer[] = [];

  beforeAll(async () => {
    bed = new RabbitTestBed(await serviceUrl('rabbitmq'));
    amqp = bed.connection;
    db = await target.setup();
    dialect = db.dialect as typeof db.dialect & InboxDialect;
    const schema = db.modelSchema === undefined ? {} : { schema: db.modelSchema };
    Invoice = db.sequelize.define<InvoiceModel>(
      'Invoice',
      { id: { type: DataTypes.STRING(64), primaryKey: true }, total: { type: DataTypes.INTEGER, allowNull: false } },
      { tableName: 'inbox_invoices', timestamps: false, ...schema },
    );
    await db.sequelize.sync();
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.close();
    await bed?.close();
    await db?.dispose();
  });

  const newQueue = (): Promise<string> => bed.declare(uniqueName('okseq_inbox'));
  const publish = (queue: string, event: StoredEvent): Promise<void> => bed.publish(queue, event);

  /** Counted through the model, outside any transaction: what is committed. */
  const invoicesFor = (id: string) => Invoice.count({ where: { id } });

  it('applies a message delivered three times once (a model write in the handler transaction) and counts two duplicates', async () => {
    const queue = await newQueue();
    const event = storedEvent({ aggregateId: 'sequelize-dup' });
    for (let i = 0; i < 3; i++) await publish(queue, event);
    const errors: unknown[] = [];
    const runs: string[] = [];
    const consumer = createInboxConsumer({
      connection: amqp,
      queue,
      consumer: `c_${queue}`,
      db: sequelizeInbox(db.sequelize),
      dialect,
      handler: async (delivered, transaction) => {
        runs.push(delivered.id);
        await Invoice.create({ id: delivered.id, total: 5 }, { transaction });
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
    expect(await invoicesFor(event.id)).toBe(1);
    expect(await dialect.inboxContains(db.relayDatabase, `c_${queue}`, [event.id])).toEqual([event.id]);
    const { messageCount } = await amqp.queueDeclare({ queue, passive: true });
    expect(messageCount).toBe(0);
  });

  it('a handler that throws after its model write leaves neither the row nor the inbox key; retried, then dead-lettered', async () => {
    const queue = await newQueue();
    const event = storedEvent({ aggregateId: 'sequelize-poison' });
    await publish(queue, event);
    const attempts: number[] = [];
    const visibleInTx: number[] = [];
    const errors: unknown[] = [];
    const consumer = createInboxConsumer({
      connection: amqp,
      queue,
      consumer: `c_${queue}`,
      db: sequelizeInbox(db.sequelize),
      dialect,
      handler: async (delivered, transaction) => {
        await Invoice.create({ id: delivered.id, total: 5 }, { transaction });
        // Written inside the transaction: visible to it before the rollback.
        visibleInTx.push(await Invoice.count({ where: { id: delivered.id }, transaction }));
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
    expect(await invoicesFor(event.id)).toBe(0);
    expect(await dialect.inboxContains(db.relayDatabase, `c_${queue}`, [event.id])).toEqual([]);
    const dead = await amqp.basicGet({ queue: `${queue}.dead`, noAck: true });
    expect(dead?.messageId).toBe(event.id);
    expect(dead?.headers?.[INBOX_HEADERS.attempts]).toBe(3);
    expect(dead?.headers?.[INBOX_HEADERS.error]).toBe(`Error: cannot invoice ${event.id}`);
    expect(await amqp.basicGet({ queue: `${queue}.dead`, noAck: true })).toBeUndefined();
  });

  it('several deliveries at once (default concurrency) are each applied once', async () => {
    const queue = await newQueue();
    const events = Array.from({ length: 8 }, (_, i) => storedEvent({ aggregateId: `sequelize-concurrent-${i}` }));
    for (const event of [...events, ...events]) await publish(queue, event);
    const errors: unknown[] = [];
    const consumer = createInboxConsumer({
      connection: amqp,
      queue,
      consumer: `c_${queue}`,
      db: sequelizeInbox(db.sequelize),
      dialect,
      handler: async (delivered, transaction) => {
        await Invoice.create({ id: delivered.id, total: 5 }, { transaction });
      },
      retryDelayMs: 10,
      observer: { onError: (error) => errors.push(error) },
    });
    consumers.push(consumer);
    await consumer.ready();

    await waitFor('16 deliveries or an error', () => errors.length > 0 || consumer.stats().processed + consumer.stats().duplicates === 16);

    expect(errors).toEqual([]);
    expect(consumer.stats()).toMatchObject({ processed: 8, duplicates: 8, failed: 0 });
    for (const event of events) expect(await invoicesFor(event.id)).toBe(1);
  });
});

describe('sequelizeInbox options', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await postgresTarget.setup();
  });
  afterAll(async () => {
    await db?.dispose();
  });

  it('passes transactionOptions to every transaction (PostgreSQL isolation level)', async () => {
    const inbox = sequelizeInbox(db.sequelize, { isolationLevel: Transaction.ISOLATION_LEVELS.SERIALIZABLE });
    const level = await inbox.transaction(async (transaction) => {
      const { rows } = await inbox.executor!(transaction).query<{ transaction_isolation: string }>('SHOW transaction_isolation');
      return rows[0]!.transaction_isolation;
    });
    expect(level).toBe('serializable');
  });

  it('refuses a value that is not a Sequelize instance, naming the option', () => {
    expect(() => sequelizeInbox({} as Sequelize)).toThrow(OutboxConfigError);
    expect(() => sequelizeInbox({} as Sequelize)).toThrow(/sequelize/);
  });

  it('on SQLite, defaults to IMMEDIATE transactions: the write lock is held from BEGIN, so overlapping deliveries queue instead of failing with SQLITE_BUSY', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'outboxkit-sequelize-inbox-'));
    const path = join(dir, 'app.db');
    // Sequelize's own default (DEFERRED) on this instance: the adapter must choose IMMEDIATE itself.
    const sequelize = new Sequelize({ dialect: 'sqlite', storage: path, logging: false });
    // A second connection that gives up at once (no busy timeout) instead of waiting for a lock.
    const other = new sqlite3.Database(path);
    try {
      const exec = (sql: string) => new Promise<void>((resolve, reject) => other.exec(sql, (error) => (error ? reject(error) : resolve())));
      const tryWriteLock = async () => {
        try {
          await exec('BEGIN IMMEDIATE');
          await exec('ROLLBACK');
          return 'acquired';
        } catch (error) {
          return (error as { code?: string }).code ?? String(error);
        }
      };
      const inbox = sequelizeInbox(sequelize);
      expect(await inbox.transaction(async () => tryWriteLock())).toBe('SQLITE_BUSY');
      const deferred = sequelizeInbox(sequelize, { type: Transaction.TYPES.DEFERRED });
      expect(await deferred.transaction(async () => tryWriteLock())).toBe('acquired');
    } finally {
      await new Promise<void>((resolve) => other.close(() => resolve()));
      await sequelize.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
