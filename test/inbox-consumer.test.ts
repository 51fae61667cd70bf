import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InboxEvent } from '@outboxkit/core';
import { createInboxConsumer, INBOX_HEADERS, type InboxConsumer, type InboxConsumerOptions } from '@outboxkit/rabbitmq';
import { serviceUrl, uniqueName } from '@outboxkit/testkit';
import { openInboxDb, type InboxTestDb } from './fixtures/inbox-db.mjs';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './support/databases.js';
import { RabbitTestBed, startConsumerProcess, storedEvent, waitFor } from './support/inbox-helpers.js';

describe.each(DATABASE_KINDS)('inbox consumer on %s', (kind) => {
  let database: TestDatabase;
  let inbox: InboxTestDb;
  let rabbit: RabbitTestBed;
  let amqpUrl: string;
  const consumers: InboxConsumer[] = [];

  beforeAll(async () => {
    amqpUrl = await serviceUrl('rabbitmq');
    database = await createTestDatabase(kind);
    inbox = await openInboxDb(kind, database.url, database.schema);
    rabbit = new RabbitTestBed(amqpUrl);
  });

  afterAll(async () => {
    for (const consumer of consumers) await consumer.close();
    await rabbit?.close();
    await inbox?.close();
    await database?.dispose();
  });

  /** A consumer in this process on a fresh queue; closed after the file. */
  async function consume(queue: string, options: Partial<InboxConsumerOptions> = {}): Promise<InboxConsumer> {
    const consumer = createInboxConsumer({
      connection: amqpUrl,
      queue,
      consumer: `c_${queue}`,
      db: inbox.db,
      dialect: inbox.dialect,
      handler: async (event, tx) => {
        await inbox.insertEffect(tx, event.id, 'in-process');
      },
      retryDelayMs: 10,
      ...options,
    });
    consumers.push(consumer);
    await consumer.ready();
    return consumer;
  }

  async function newQueue(): Promise<string> {
    const queue = uniqueName('okt_inbox');
    await rabbit.declare(queue);
    return queue;
  }

  it('applies a message delivered three times once and counts the two duplicates', async () => {
    const queue = await newQueue();
    const repeated = storedEvent({ aggregateId: 'dup-1' });
    const other = storedEvent({ aggregateId: 'dup-2' });
    for (const event of [repeated, repeated, repeated, other]) await rabbit.publish(queue, event);
    const seen: string[] = [];
    const consumer = await consume(queue, {
      handler: async (event, tx) => {
        seen.push(event.id);
        await inbox.insertEffect(tx, event.id, 'in-process');
      },
    });

    await waitFor('4 deliveries', () => consumer.stats().processed + consumer.stats().duplicates === 4);

    expect(consumer.stats()).toMatchObject({ processed: 2, duplicates: 2, failed: 0, deadLettered: 0 });
    expect(seen.filter((id) => id === repeated.id)).toHaveLength(1);
    expect(await inbox.effectCount(repeated.id)).toBe(1);
    expect(await inbox.effectCount(other.id)).toBe(1);
    expect((await inbox.dialect.inboxContains(inbox.db, `c_${queue}`, [repeated.id, other.id, 'never-seen'])).sort()).toEqual([repeated.id, other.id].sort());
    expect(await rabbit.messageCount(queue)).toBe(0);
  });

  it('hands the handler the decoded event and the transaction', async () => {
    const queue = await newQueue();
    const event = storedEvent(
      { aggregateType: 'invoice', aggregateId: 'i-9', type: 'InvoiceIssued', payload: { lines: [1, 2] }, headers: { traceparent: 'tp-1' } },
      4,
    );
    await rabbit.publish(queue, event);
    let received: InboxEvent | undefined;
    const consumer = await consume(queue, {
      handler: async (delivered, tx) => {
        received = delivered;
        await inbox.insertEffect(tx, delivered.id, 'decoded');
      },
    });
    await waitFor('the event', () => consumer.stats().processed === 1);
    expect(received).toEqual({
      id: event.id,
      type: 'InvoiceIssued',
      aggregateType: 'invoice',
      aggregateId: 'i-9',
      sequence: 4,
      occurredAt: event.occurredAt,
      payload: { lines: [1, 2] },
      headers: { traceparent: 'tp-1' },
    });
    expect(await inbox.effectCount(event.id)).toBe(1);
  });

  it('a process killed between the commit and the ack: the redelivery is a duplicate and the effect stays single', async () => {
    const queue = await newQueue();
    const consumerName = `c_${queue}`;
    const event = storedEvent({ aggregateId: 'crash-after-commit' });
    const child = startConsumerProcess(childEnv(queue, consumerName, 'kill-after-commit'));
    try {
      await child.ready;
      await rabbit.publish(queue, event);
      const { signal } = await child.exited;
      expect(signal).toBe('SIGKILL');
    } finally {
      child.kill();
    }
    // Committed before the kill: the effect and the inbox row are there, the ack is not.
    expect(await inbox.effectCount(event.id)).toBe(1);
    expect(await inbox.dialect.inboxContains(inbox.db, consumerName, [event.id])).toEqual([event.id]);

    const restarted = await consume(queue, { consumer: consumerName });
    await waitFor('the redelivery', () => restarted.stats().duplicates === 1);
    expect(restarted.stats()).toMatchObject({ processed: 0, duplicates: 1 });
    expect(await inbox.effectCount(event.id)).toBe(1);
    await waitFor('the queue to drain', async () => (await rabbit.messageCount(queue)) === 0);
  });

  it('a process killed inside the handler, before the commit: the redelivery is applied once', async () => {
    const queue = await newQueue();
    const consumerName = `c_${queue}`;
    const event = storedEvent({ aggregateId: 'crash-before-commit' });
    const child = startConsumerProcess(childEnv(queue, consumerName, 'kill-in-handler'));
    try {
      await child.ready;
      await rabbit.publish(queue, event);
      const { signal } = await child.exited;
      expect(signal).toBe('SIGKILL');
    } finally {
      child.kill();
    }
    // The child wrote the effect but never committed: nothing of it may be visible.
    expect(await inbox.effectCount(event.id)).toBe(0);
    expect(await inbox.dialect.inboxContains(inbox.db, consumerName, [event.id])).toEqual([]);

    const restarted = await consume(queue, { consumer: consumerName });
    await waitFor('the redelivery', () => restarted.stats().processed === 1);
    expect(restarted.stats()).toMatchObject({ processed: 1, duplicates: 0 });
    expect(await inbox.effectCount(event.id)).toBe(1);
  });

  it('a handler that always throws ends in the dead-letter queue after maxAttempts, with the reason, without blocking others', async () => {
    const queue = await newQueue();
    const poison = storedEvent({ aggregateId: 'poison', type: 'Poison' });
    const healthy = [storedEvent({ aggregateId: 'healthy-1' }), storedEvent({ aggregateId: 'healthy-2' })];
    for (const event of [poison, ...healthy]) await rabbit.publish(queue, event);
    const timeline: string[] = [];
    let poisonRuns = 0;
    const consumer = await consume(queue, {
      concurrency: 1,
      maxAttempts: 3,
      handler: async (event, tx) => {
        if (event.type === 'Poison') {
          poisonRuns++;
          throw new Error(`cannot apply ${event.id}`);
        }
        await inbox.insertEffect(tx, event.id, 'healthy');
      },
      observer: {
        onProcessed: ({ event }) => timeline.push(`processed ${event.aggregateId}`),
        onDeadLettered: ({ messageId }) => timeline.push(`dead ${messageId}`),
      },
    });

    await waitFor('the dead letter', () => consumer.stats().deadLettered === 1);
    expect(poisonRuns).toBe(3);
    expect(consumer.stats()).toMatchObject({ processed: 2, failed: 3, deadLettered: 1 });
    // The healthy messages behind the poison one were applied before it was given up on.
    expect(timeline).toEqual(['processed healthy-1', 'processed healthy-2', `dead ${poison.id}`]);
    for (const event of healthy) expect(await inbox.effectCount(event.id)).toBe(1);
    expect(await inbox.effectCount(poison.id)).toBe(0);

    const dead = await rabbit.get(`${queue}.dead`);
    expect(dead?.messageId).toBe(poison.id);
    expect(dead?.headers?.[INBOX_HEADERS.error]).toBe(`Error: cannot apply ${poison.id}`);
    expect(dead?.headers?.[INBOX_HEADERS.attempts]).toBe(3);
    expect(dead?.headers?.[INBOX_HEADERS.sourceQueue]).toBe(queue);
    expect(JSON.parse((dead!.body as Buffer).toString('utf8'))).toEqual(poison.payload);
    expect(await rabbit.get(`${queue}.dead`)).toBeUndefined();
    expect(await rabbit.messageCount(queue)).toBe(0);
  });

  it('dead-letters a message that is not an outbox event without running the handler', async () => {
    const queue = await newQueue();
    const raw = rabbit.connection.createPublisher({ confirm: true });
    await raw.send({ exchange: '', routingKey: queue, messageId: 'm-1', durable: true }, 'not json');
    await raw.close();
    let runs = 0;
    const consumer = await consume(queue, { handler: async () => void runs++ });
    await waitFor('the dead letter', () => consumer.stats().deadLettered === 1);
    expect(runs).toBe(0);
    const dead = await rabbit.get(`${queue}.dead`);
    expect(dead?.headers?.[INBOX_HEADERS.error]).toMatch(/^undecodable message: no type property/);
  });

  it('the ordering guard holds back an event that arrives before its predecessor', async () => {
    const queue = await newQueue();
    const first = storedEvent({ aggregateId: 'ordered' }, 1);
    const second = storedEvent({ aggregateId: 'ordered' }, 2);
    await rabbit.publish(queue, second);
    await rabbit.publish(queue, first);
    const applied: number[] = [];
    const consumer = await consume(queue, {
      concurrency: 1,
      ordering: { holdDelayMs: 10 },
      handler: async (event, tx) => {
        await inbox.insertEffect(tx, event.id, 'ordered');
        applied.push(event.sequence);
      },
    });
    await waitFor('both events', () => consumer.stats().processed === 2);
    expect(applied).toEqual([1, 2]);
    expect(consumer.stats().heldBack).toBeGreaterThanOrEqual(1);
    expect(await inbox.effectCount(second.id)).toBe(1);

    // A replay of sequence 1 under a forgotten inbox row is still recognised by its sequence.
    await inbox.dialect.deleteInboxBefore(inbox.db, new Date(Date.now() + 86_400_000), 1000);
    await rabbit.publish(queue, first);
    await waitFor('the replay', () => consumer.stats().duplicates === 1);
    expect(applied).toEqual([1, 2]);
  });

  it('close() lets a running handler commit and ack before it returns', async () => {
    const queue = await newQueue();
    const event = storedEvent({ aggregateId: 'closing' });
    await rabbit.publish(queue, event);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const consumer = await consume(queue, {
      handler: async (delivered, tx) => {
        started();
        await gate;
        await inbox.insertEffect(tx, delivered.id, 'closing');
      },
    });
    await running;
    const closed = consumer.close();
    release();
    await closed;
    expect(consumer.stats().processed).toBe(1);
    expect(await inbox.effectCount(event.id)).toBe(1);
    expect(await rabbit.messageCount(queue)).toBe(0);
  });

  function childEnv(queue: string, consumer: string, mode: string): Record<string, string> {
    return {
      INBOX_KIND: kind,
      INBOX_DB_URL: database.url,
      INBOX_SCHEMA: database.schema ?? '',
      INBOX_AMQP_URL: amqpUrl,
      INBOX_QUEUE: queue,
      INBOX_CONSUMER: consumer,
      INBOX_MODE: mode,
    };
  }
});
