import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxError, writeEvents, type EventInput } from '@outboxkit/core';
import { CONSUMER_SETUP_FAILED, createInboxConsumer, type InboxConsumer, type InboxConsumerOptions } from '@outboxkit/rabbitmq';
import { allCommittedDelivered, DeliveryLog, expectDeliveryOk, formatReport, freePort, serviceUrl, uniqueName } from '@outboxkit/testkit';
import { openInboxDb, type InboxTestDb } from './fixtures/inbox-db.mjs';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { RabbitTestBed, waitFor } from './support/inbox-helpers.js';
import { startRelay, type RelayProcess } from './support/relay-process.js';

// Issue 19, items 2 and 3: a newcomer starts the consumer and the relay in either order and
// events flow; a consumer that cannot set up says why instead of hanging in ready(); a relay
// that publishes before any queue is bound says so at warn level, once per route.

const SECRET = 's3cretpw-never-logged';

describe('consumer and relay, either start order (PostgreSQL, RabbitMQ)', () => {
  let database: TestDatabase;
  let inbox: InboxTestDb;
  let rabbit: RabbitTestBed;
  let amqpUrl: string;
  const consumers: InboxConsumer[] = [];
  const relays: RelayProcess[] = [];
  const exchanges: string[] = [];
  const queues: string[] = [];

  beforeAll(async () => {
    amqpUrl = await serviceUrl('rabbitmq');
    database = await createTestDatabase('PostgreSQL');
    inbox = await openInboxDb('PostgreSQL', database.url, database.schema);
    rabbit = new RabbitTestBed(amqpUrl);
  });

  afterAll(async () => {
    await Promise.all(relays.map((relay) => relay.stop('SIGKILL')));
    for (const consumer of consumers) await consumer.close();
    for (const queue of queues) await rabbit?.connection.queueDelete({ queue }).catch(() => undefined);
    for (const exchange of exchanges) await rabbit?.connection.exchangeDelete({ exchange }).catch(() => undefined);
    await rabbit?.close();
    await inbox?.close();
    await database?.dispose();
  });

  /** A fresh exchange and queue, deleted after the file. */
  function topology(): { exchange: string; queue: string } {
    const exchange = uniqueName('okt_start_x');
    const queue = uniqueName('okt_start_q');
    // Neither is declared here: the consumer does it.
    exchanges.push(exchange, `${queue}.dlx`);
    queues.push(queue, `${queue}.dead`);
    return { exchange, queue };
  }

  function consumer(queue: string, log: DeliveryLog, options: Partial<InboxConsumerOptions>): InboxConsumer {
    const created = createInboxConsumer({
      connection: amqpUrl,
      queue,
      consumer: `c_${queue}`,
      db: inbox.db,
      dialect: inbox.dialect,
      handler: async (event, tx) => {
        await inbox.insertEffect(tx, event.id, 'start-order');
        log.delivered({ id: event.id, aggregateType: event.aggregateType, aggregateId: event.aggregateId, sequence: event.sequence });
      },
      retryDelayMs: 10,
      // One handler at a time, so deliveries are recorded in queue order and the checker judges it.
      concurrency: 1,
      ...options,
    });
    consumers.push(created);
    return created;
  }

  function relay(exchange: string): RelayProcess {
    const started = startRelay([
      '--database-url',
      database.url,
      '--schema',
      database.schema!,
      '--broker-url',
      amqpUrl,
      '--exchange',
      exchange,
      '--poll-interval-ms',
      '100',
      '--log-level',
      'warn',
    ]);
    relays.push(started);
    return started;
  }

  /** Two event types (two routing keys) over three aggregates, written in order and recorded in `log`. */
  async function write(log: DeliveryLog, count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const input: EventInput = { aggregateType: 'order', aggregateId: `o-${i % 3}`, type: i % 2 === 0 ? 'order.placed' : 'order.paid', payload: { i } };
      const [written] = await inbox.db.transaction((tx) => writeEvents(inbox.dialect, tx, input));
      log.attempted(written!, 'committed');
    }
  }

  it('consumer first: ready() resolves before the relay ever ran (the consumer declares the exchange), then every event arrives once, in order', async () => {
    const { exchange, queue } = topology();
    const log = new DeliveryLog();
    const first = consumer(queue, log, { bindings: [{ exchange, routingKey: 'order.#' }] });
    await first.ready();
    // Declared the way the relay declares it, so the relay's own declaration does not clash.
    await rabbit.connection.exchangeDeclare({ exchange, passive: true });

    await write(log, 12);
    const process = relay(exchange);
    await waitFor('every committed event at the consumer', () => allCommittedDelivered(log), 60_000);
    expect(await process.stop()).toBe(0);
    const report = log.check();
    console.log(formatReport(report, 'consumer started before the relay'));
    expectDeliveryOk(report);
    expect(report.duplicateDeliveries).toBe(0);
    expect(process.output()).not.toMatch(/no queue is bound|PRECONDITION_FAILED|"level":50/);
  }, 90_000);

  it('relay first: the unroutable events are warned about once per route, at warn level; once the consumer binds, everything arrives in order', async () => {
    const { exchange, queue } = topology();
    const log = new DeliveryLog();
    const process = relay(exchange);
    await write(log, 12);
    const unbound = (key: string): RegExp =>
      new RegExp(`no queue is bound to exchange \\\\"${exchange}\\\\" with routing key \\\\"${key.replace('.', '\\.')}\\\\" — bind a queue`);
    await waitFor(
      'the warnings about both routes',
      () => unbound('order.placed').test(process.output()) && unbound('order.paid').test(process.output()),
      60_000,
    );

    const late = consumer(queue, log, { bindings: [{ exchange, routingKey: 'order.#' }] });
    await late.ready();
    await waitFor('every committed event at the late consumer', () => allCommittedDelivered(log), 120_000);
    expect(await process.stop()).toBe(0);
    const report = log.check();
    console.log(formatReport(report, 'relay started before the consumer'));
    expectDeliveryOk(report);

    const lines = process
      .output()
      .split('\n')
      .filter((line) => line.includes('no queue is bound'));
    const warnings = lines.map((line) => JSON.parse(line) as { level: number; msg: string; destination: string; maxAttempts: number });
    // Twelve events failed (three aggregates, each blocked behind its first), but one line per route.
    expect(warnings.map((warning) => warning.destination).sort()).toEqual([
      `exchange "${exchange}" with routing key "order.paid"`,
      `exchange "${exchange}" with routing key "order.placed"`,
    ]);
    for (const warning of warnings) {
      expect(warning.level).toBe(40);
      expect(warning.msg).toMatch(/attempt \d+ of 10: retried with backoff, then quarantined/);
    }
  }, 180_000);
});

describe("InboxConsumer.ready() rejects with the broker's reason (RabbitMQ)", () => {
  let database: TestDatabase;
  let inbox: InboxTestDb;
  let rabbit: RabbitTestBed;
  let amqpUrl: string;
  const exchanges: string[] = [];

  beforeAll(async () => {
    amqpUrl = await serviceUrl('rabbitmq');
    database = await createTestDatabase('PostgreSQL');
    inbox = await openInboxDb('PostgreSQL', database.url, database.schema);
    rabbit = new RabbitTestBed(amqpUrl);
  });

  afterAll(async () => {
    for (const exchange of exchanges) await rabbit?.connection.exchangeDelete({ exchange }).catch(() => undefined);
    await rabbit?.close();
    await inbox?.close();
    await database?.dispose();
  });

  function options(overrides: Partial<InboxConsumerOptions>): InboxConsumerOptions {
    const queue = uniqueName('okt_setup_q');
    return { connection: amqpUrl, queue, consumer: `c_${queue}`, db: inbox.db, dialect: inbox.dialect, handler: async () => undefined, ...overrides };
  }

  /** What ready() rejected with; fails the test when it resolved. */
  async function setupError(consumer: InboxConsumer): Promise<OutboxError> {
    const outcome = await consumer.ready().then(
      () => new Error('ready() resolved'),
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(OutboxError);
    expect((outcome as OutboxError).code).toBe(CONSUMER_SETUP_FAILED);
    return outcome as OutboxError;
  }

  async function declaredQueue(queue: string): Promise<void> {
    await rabbit.declare(queue); // registers the queue and its dead-letter topology for cleanup
  }

  it('NOT_FOUND with declareExchanges: false names the exchange and the fix; once the exchange exists, a later ready() resolves', async () => {
    const exchange = uniqueName('okt_missing_x');
    exchanges.push(exchange);
    const config = options({ declareExchanges: false, bindings: [{ exchange, routingKey: '#' }] });
    await declaredQueue(config.queue);
    const consumer = createInboxConsumer(config);
    try {
      const error = await setupError(consumer);
      expect(error.message).toContain(`inbox consumer "${config.consumer}" could not start on queue "${config.queue}": RabbitMQ refused the setup`);
      expect(error.message).toContain('NOT_FOUND');
      expect(error.message).toContain(exchange);
      expect(error.message).toContain('With declareExchanges: false the exchange must exist: start the relay once');

      // The consumer keeps retrying on its own: declaring the exchange is enough.
      await rabbit.connection.exchangeDeclare({ exchange, type: 'topic', durable: true });
      await waitFor(
        'a ready() that resolves',
        () =>
          consumer.ready().then(
            () => true,
            () => false,
          ),
        60_000,
      );
    } finally {
      await consumer.close();
    }
  }, 90_000);

  it('PRECONDITION_FAILED for an exchange of another type says how outboxkit declares it', async () => {
    const exchange = uniqueName('okt_fanout_x');
    exchanges.push(exchange);
    await rabbit.connection.exchangeDeclare({ exchange, type: 'fanout', durable: true });
    const config = options({ bindings: [{ exchange, routingKey: '#' }] });
    await declaredQueue(config.queue);
    const consumer = createInboxConsumer(config);
    try {
      const error = await setupError(consumer);
      expect(error.message).toContain('PRECONDITION_FAILED');
      expect(error.message).toContain(exchange);
      expect(error.message).toContain('exchanges: topic, durable');
      expect(error.message).toContain('declareExchanges: false');
    } finally {
      await consumer.close();
    }
  }, 60_000);

  it('a wrong password: ACCESS_REFUSED with the credentials hint, and the password nowhere', async () => {
    const url = new URL(amqpUrl);
    url.password = SECRET;
    const consumer = createInboxConsumer(options({ connection: url.toString() }));
    try {
      const error = await setupError(consumer);
      expect(error.message).toContain('cannot reach RabbitMQ');
      expect(error.message).toContain('ACCESS_REFUSED');
      expect(error.message).toContain('Check the user name, the password and the vhost');
      expect(error.message).not.toContain(SECRET);
      expect(String((error.cause as Error | undefined)?.message ?? '')).not.toContain(SECRET);
    } finally {
      await consumer.close();
    }
  }, 60_000);

  it('a closed port: the connection error with the URL hint, and the password nowhere', async () => {
    const port = await freePort();
    const consumer = createInboxConsumer(options({ connection: `amqp://guest:${SECRET}@127.0.0.1:${port}` }));
    try {
      const error = await setupError(consumer);
      expect(error.message).toContain('cannot reach RabbitMQ');
      expect(error.message).toMatch(/ECONNREFUSED/);
      expect(error.message).toContain('Check the URL and that the broker is running');
      expect(error.message).not.toContain(SECRET);
    } finally {
      await consumer.close();
    }
  }, 60_000);
});
