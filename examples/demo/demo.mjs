// outboxkit quickstart demo (`pnpm demo`).
//
// A tiny shop writes orders through the Sequelize plugin on an embedded SQLite file. Every
// order and its event commit in ONE transaction. The `outbox-relay` binary, running as its own
// process next to the app, publishes committed events to RabbitMQ; a consumer prints them.
// One order fails after writing its event: the transaction rolls back and that event never
// reaches the broker.
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Connection } from 'rabbitmq-client';
import { DataTypes, Sequelize } from 'sequelize';
import { redactUrl } from '@outboxkit/core';
import { createSequelizeOutbox } from '@outboxkit/sequelize';
import { createSqliteDialect } from '@outboxkit/sqlite';

const BROKER_URL = process.env.OUTBOX_BROKER_URL || 'amqp://guest:guest@127.0.0.1:5672';
const EXCHANGE = 'outbox.events';
const DATA_DIR = fileURLToPath(new URL('../../.demo/', import.meta.url));
const DB_FILE = `${DATA_DIR}shop.db`;
const DATABASE_URL = `sqlite:${DB_FILE}`;
const RELAY_CLI = createRequire(import.meta.url)
  .resolve('@outboxkit/relay/package.json')
  .replace(/package\.json$/, 'dist/cli.js');
const WAIT_MS = 20_000;

const say = (line = '') => process.stdout.write(`${line}\n`);

async function main() {
  say('outboxkit demo: orders -> SQLite outbox -> outbox-relay -> RabbitMQ -> consumer\n');
  const broker = await connectBroker();
  const received = [];
  const consumer = await startConsumer(broker, received);

  rmSync(DATA_DIR, { recursive: true, force: true });
  mkdirSync(DATA_DIR, { recursive: true });
  runRelayCommand(['migrate', '--database-url', DATABASE_URL]);
  say(`1. outbox tables created in ${DB_FILE} (outbox-relay migrate)`);

  const relay = spawn(
    process.execPath,
    [RELAY_CLI, 'run', '--database-url', DATABASE_URL, '--broker-url', BROKER_URL, '--poll-interval-ms', '200', '--log-level', 'warn'],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
    },
  );
  say('2. outbox-relay started as its own process\n');

  // IMMEDIATE: a transaction takes SQLite's write lock up front, so it never fails halfway because
  // the relay (another process on the same file) committed in between.
  const sequelize = new Sequelize({ dialect: 'sqlite', storage: DB_FILE, logging: false, transactionType: 'IMMEDIATE' });
  const Order = sequelize.define(
    'Order',
    { id: { type: DataTypes.STRING, primaryKey: true }, total: DataTypes.INTEGER, status: DataTypes.STRING },
    { tableName: 'orders' },
  );
  await Order.sync();
  const outbox = createSequelizeOutbox(sequelize, { dialect: createSqliteDialect() });

  const committed = [];
  const placeOrder = async (id, total, { failAfterEvent = false } = {}) => {
    try {
      await sequelize.transaction(async (transaction) => {
        await Order.create({ id, total, status: 'placed' }, { transaction });
        const [event] = await outbox.add({ aggregateType: 'order', aggregateId: id, type: 'order.placed', payload: { orderId: id, total } }, { transaction });
        if (failAfterEvent) throw new Error('payment provider said no');
        committed.push(event.id);
      });
      say(`   app: order ${id} placed (order row + order.placed event, one transaction)`);
    } catch (error) {
      say(`   app: order ${id} failed (${error.message}): transaction rolled back, order AND event discarded`);
    }
  };
  const payOrder = async (id) => {
    await sequelize.transaction(async (transaction) => {
      await Order.update({ status: 'paid' }, { where: { id }, transaction });
      const [event] = await outbox.add({ aggregateType: 'order', aggregateId: id, type: 'order.paid', payload: { orderId: id } }, { transaction });
      committed.push(event.id);
    });
    say(`   app: order ${id} paid`);
  };

  say('3. the app writes:');
  await placeOrder('o-1', 42);
  await placeOrder('o-2', 17);
  await placeOrder('o-3', 99, { failAfterEvent: true });
  await payOrder('o-1');
  await placeOrder('o-4', 8);

  say('\n4. the consumer receives:');
  const deadline = Date.now() + WAIT_MS;
  while (received.length < committed.length && Date.now() < deadline) await sleep(100);
  await sleep(1000); // give a ghost event every chance to show up

  const ids = new Set(received.map((m) => m.messageId));
  const lost = committed.filter((id) => !ids.has(id));
  const ghosts = received.filter((m) => !committed.includes(m.messageId));
  say(`\n5. summary: ${committed.length} events committed, ${received.length} delivered, ${lost.length} lost, ${ghosts.length} ghost (rolled-back) events`);
  const rows = await Order.count();
  say(`   orders in the database: ${rows} (o-3 rolled back with its event)`);

  relay.kill('SIGTERM');
  await new Promise((resolve) => relay.once('close', resolve));
  say('   outbox-relay stopped cleanly (SIGTERM: in-flight batch finished, shards released)');
  await consumer.close();
  await broker.close();
  await sequelize.close();
  if (lost.length > 0 || ghosts.length > 0) {
    say('\nThe demo did not see what it expected; see the relay output above.');
    process.exitCode = 1;
  } else {
    say('\nEvery committed event arrived exactly where it should; the rolled-back one never did.');
  }
}

/** Connects to RabbitMQ, or explains how to get one and exits. */
async function connectBroker() {
  const connection = new Connection({ url: BROKER_URL, connectionTimeout: 3000, retryLow: 500, retryHigh: 1000 });
  connection.on('error', () => {});
  const ready = await Promise.race([
    connection.onConnect(5000).then(
      () => true,
      () => false,
    ),
    sleep(6000).then(() => false),
  ]);
  if (!ready) {
    // No close(): against an unreachable broker it never settles; exiting ends the retries.
    say(`RabbitMQ is not reachable at ${redactUrl(BROKER_URL)}.`);
    say('Start it (for example `rabbitmq-server -detached`, or `docker run -p 5672:5672 rabbitmq:3`)');
    say('or point OUTBOX_BROKER_URL at a running broker, then run `pnpm demo` again.');
    process.exit(1);
  }
  return connection;
}

/** A consumer on an exclusive queue bound to every event on the relay's exchange. */
async function startConsumer(connection, received) {
  const consumer = connection.createConsumer(
    {
      queue: '',
      queueOptions: { exclusive: true, autoDelete: true },
      exchanges: [{ exchange: EXCHANGE, type: 'topic', durable: true }],
      queueBindings: [{ exchange: EXCHANGE, routingKey: '#' }],
    },
    async (message) => {
      received.push(message);
      const h = message.headers ?? {};
      const body = Buffer.isBuffer(message.body) ? message.body.toString('utf8') : JSON.stringify(message.body);
      say(
        `   consumer: ${message.type} ${h['x-outbox-aggregate-type']}/${h['x-outbox-aggregate-id']} #${h['x-outbox-sequence']} ${body} (id ${message.messageId})`,
      );
    },
  );
  await new Promise((resolve, reject) => {
    consumer.once('ready', resolve);
    consumer.once('error', reject);
  });
  return consumer;
}

function runRelayCommand(args) {
  const result = spawnSync(process.execPath, [RELAY_CLI, ...args], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`outbox-relay ${args[0]} failed: ${result.stderr}`);
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

await main();
