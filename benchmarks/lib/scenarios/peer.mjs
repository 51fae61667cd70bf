// pg-transactional-outbox, driven the way its README shows: DatabaseSetup SQL for the table and
// the polling function, initializeMessageStorage inside the business transaction, and
// initializePollingMessageListener with a message publisher (here: RabbitMQ with confirms).
import pg from 'pg';
import { Connection } from 'rabbitmq-client';
import ptxo from 'pg-transactional-outbox';
import { withSetup, measuredDrain } from './common.mjs';
import { orderEvent, pooled } from '../util.mjs';

const { DatabaseSetup, initializeMessageStorage, initializePollingMessageListener, getDisabledLogger } = ptxo;
const TABLE = 'outbox';
const FUNCTION = 'next_outbox_messages';
const BATCH_SIZE = 128;
const POLLING_INTERVAL_MS = 250;

function peerConfig(target) {
  const { schema, serverUrl } = target.postgres;
  return {
    outboxOrInbox: 'outbox',
    dbListenerConfig: { connectionString: serverUrl },
    settings: {
      dbSchema: schema,
      dbTable: TABLE,
      enableMaxAttemptsProtection: false,
      enablePoisonousMessageProtection: false,
      nextMessagesFunctionSchema: schema,
      nextMessagesFunctionName: FUNCTION,
      nextMessagesBatchSize: BATCH_SIZE,
      nextMessagesPollingIntervalInMs: POLLING_INTERVAL_MS,
    },
  };
}

/** Creates the peer's table, polling function and indexes in the target's own schema. */
async function setupPeer(target) {
  const { schema, serverUrl } = target.postgres;
  // Its index DDL uses unqualified names (DROP INDEX IF EXISTS outbox_segment_idx): the search
  // path is pinned to our schema so it can never touch another schema's objects.
  const client = new pg.Client({ connectionString: serverUrl, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    const config = { outboxOrInbox: 'outbox', database: 'test', schema, table: TABLE, listenerRole: 'postgres', nextMessagesSchema: schema, nextMessagesName: FUNCTION };
    await client.query(DatabaseSetup.dropAndCreateTable(config));
    await client.query(DatabaseSetup.createPollingFunction(config));
    await client.query(DatabaseSetup.setupPollingIndexes(config));
  } finally {
    await client.end();
  }
}

function peerMessage(i, aggregates) {
  const event = orderEvent(i, aggregates);
  // segment = aggregate: the polling function hands out only the oldest message of a segment,
  // which is the peer's per-aggregate ordering.
  return { id: crypto.randomUUID(), aggregateType: event.aggregateType, aggregateId: event.aggregateId, segment: event.aggregateId, messageType: event.type, payload: event.payload };
}

/** The peer's side: a writer (business tx + storeOutboxMessage) and a listener that publishes. */
function peerParts(ctx, target, broker) {
  const config = peerConfig(target);
  const logger = getDisabledLogger();
  const store = initializeMessageStorage(config, logger);
  const producers = new pg.Pool({ connectionString: target.postgres.serverUrl, max: 8 });
  const orders = `"${target.postgres.schema}".bench_orders`;
  let shutdown = null;
  let amqp = null;
  return {
    async write(i, aggregates) {
      const message = peerMessage(i, aggregates);
      const client = await producers.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${orders} (id, total) VALUES ($1, $2)`, [`p${i}-${process.hrtime.bigint()}`, i % 10_000]);
        await store(message, client);
        await client.query('COMMIT');
        return message.id;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    start() {
      amqp = new Connection({ url: ctx.urls.rabbitmq, connectionName: `${broker.exchange}-peer` });
      amqp.on('error', () => {});
      const publisher = amqp.createPublisher({ confirm: true, maxAttempts: 1 });
      const handler = {
        handle: (message) =>
          publisher.send(
            { exchange: broker.exchange, routingKey: message.messageType, durable: true, mandatory: true, messageId: message.id, contentType: 'application/json', type: message.messageType },
            JSON.stringify(message.payload),
          ),
      };
      [shutdown] = initializePollingMessageListener(config, handler, logger);
    },
    async stop() {
      await shutdown?.();
      await amqp?.close();
      await producers.end();
    },
  };
}

/** The peer draining `count` pre-written messages. */
export async function peerDrainRun(ctx, { count, aggregates }) {
  return withSetup(ctx, 'postgres', async (target, broker) => {
    await setupPeer(target);
    const parts = peerParts(ctx, target, broker);
    try {
      await pooled(count, 4, (i) => parts.write(i, aggregates));
      const counter = await broker.consume();
      return await measuredDrain(ctx, counter, count, async () => {
        parts.start();
      });
    } finally {
      await parts.stop();
    }
  });
}

/** The peer as an open-loop system (see `openLoop`). */
export function peerSystem(ctx, target, broker) {
  let parts;
  return {
    async start() {
      await setupPeer(target);
      parts = peerParts(ctx, target, broker);
      parts.start();
    },
    stop: () => parts.stop(),
    write: (i) => parts.write(i, ctx.sizes.aggregates),
  };
}
