// pg-transactional-outbox, driven the way its README shows: DatabaseSetup SQL for the table and
// the polling function, initializeMessageStorage inside the business transaction, and
// initializePollingMessageListener with a message publisher (here: RabbitMQ with confirms).
import pg from 'pg';
import { Connection } from 'rabbitmq-client';
import ptxo from 'pg-transactional-outbox';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { measuredDrain, openLoop } from './common.mjs';
import { orderEvent, pooled, sleep } from '../util.mjs';

const {
  DatabaseSetup,
  initializeMessageStorage,
  initializePollingMessageListener,
  initializeReplicationMessageListener,
  createReplicationSegmentMutexConcurrencyController,
  getDisabledLogger,
} = ptxo;
const TABLE = 'outbox';
const FUNCTION = 'next_outbox_messages';
/**
 * Its README's example value. 128 (outboxkit's in-flight limit) was tried and collapses: see the
 * README of this package, "peer". `OUTBOX_BENCH_PEER_BATCH` overrides it.
 */
export const PEER_BATCH_SIZE = Number(process.env.OUTBOX_BENCH_PEER_BATCH ?? 5);
const POLLING_INTERVAL_MS = 250;

/** What both of its listeners share (README, "Implementing the transactional outbox producer"), plus the listener's own settings. */
function listenerConfig(target, settings) {
  const { schema, serverUrl } = target.postgres;
  return {
    outboxOrInbox: 'outbox',
    dbListenerConfig: { connectionString: serverUrl },
    settings: { dbSchema: schema, dbTable: TABLE, enableMaxAttemptsProtection: false, enablePoisonousMessageProtection: false, ...settings },
  };
}

function peerConfig(target) {
  return listenerConfig(target, {
    nextMessagesFunctionSchema: target.postgres.schema,
    nextMessagesFunctionName: FUNCTION,
    nextMessagesBatchSize: PEER_BATCH_SIZE,
    nextMessagesPollingIntervalInMs: POLLING_INTERVAL_MS,
  });
}

/** The replication slot of the peer's listener on `schema`'s table (slot names are server-wide). */
export function peerReplicationSlot(schema) {
  return `${schema}_ptxo`.slice(0, 63);
}

/** Its logical-replication listener's config: a publication and a slot of its own. */
function peerReplicationConfig(target) {
  const { schema } = target.postgres;
  return listenerConfig(target, { dbPublication: `${schema}_ptxo_pub`.slice(0, 63), dbReplicationSlot: peerReplicationSlot(schema) });
}

/** Its replication setup SQL: the publication (listener role with REPLICATION), then the slot in a statement of its own. */
async function setupPeerReplication(target) {
  const { settings } = peerReplicationConfig(target);
  const client = new pg.Client({ connectionString: target.postgres.serverUrl });
  await client.connect();
  try {
    const config = { outboxOrInbox: 'outbox', database: 'postgres', schema: settings.dbSchema, table: TABLE, listenerRole: 'postgres' };
    await client.query(DatabaseSetup.setupReplicationCore({ ...config, publication: settings.dbPublication }));
    await client.query(DatabaseSetup.setupReplicationSlot({ ...config, replicationSlot: settings.dbReplicationSlot }));
  } finally {
    await client.end();
  }
}

/** Creates the peer's table, polling function and indexes in the target's own schema. */
async function setupPeer(target) {
  const { schema, serverUrl } = target.postgres;
  // Its index DDL uses unqualified names (DROP INDEX IF EXISTS outbox_segment_idx): the search
  // path is pinned to our schema so it can never touch another schema's objects.
  const client = new pg.Client({ connectionString: serverUrl, options: `-c search_path=${schema}` });
  await client.connect();
  try {
    const config = {
      outboxOrInbox: 'outbox',
      database: 'test',
      schema,
      table: TABLE,
      listenerRole: 'postgres',
      nextMessagesSchema: schema,
      nextMessagesName: FUNCTION,
    };
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
  return {
    id: crypto.randomUUID(),
    aggregateType: event.aggregateType,
    aggregateId: event.aggregateId,
    segment: event.aggregateId,
    messageType: event.type,
    payload: event.payload,
  };
}

/**
 * The peer's side: a writer (business tx + storeOutboxMessage) and a listener that publishes:
 * its polling listener, or with `listener: 'replication'` its logical-replication one with the
 * segment-mutex concurrency controller (per-segment = per-aggregate order, segments in parallel).
 */
function peerParts(ctx, target, broker, producerConnections, listener = 'polling') {
  const config = listener === 'replication' ? peerReplicationConfig(target) : peerConfig(target);
  const logger = process.env.PEER_DEBUG ? debugLogger() : getDisabledLogger();
  const store = initializeMessageStorage(config, logger);
  const producers = new pg.Pool({ connectionString: target.postgres.serverUrl, max: producerConnections });
  const orders = `"${target.postgres.schema}".bench_orders`;
  let shutdown = null;
  let amqp = null;
  let publisher = null;
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
      publisher = amqp.createPublisher({ confirm: true, maxAttempts: 1 });
      const handler = {
        handle: (message) =>
          publisher.send(
            {
              exchange: broker.exchange,
              routingKey: message.messageType,
              durable: true,
              mandatory: true,
              messageId: message.id,
              contentType: 'application/json',
              type: message.messageType,
            },
            JSON.stringify(message.payload),
          ),
      };
      [shutdown] =
        listener === 'replication'
          ? initializeReplicationMessageListener(config, handler, logger, { concurrencyStrategy: createReplicationSegmentMutexConcurrencyController() })
          : initializePollingMessageListener(config, handler, logger);
    },
    /** Resolves `true` when the peer's shutdown finished within `graceMs`, `false` when it still hangs. */
    async stop(graceMs = 1000) {
      const done = (async () => {
        const t0 = performance.now();
        await shutdown?.();
        if (process.env.PEER_DEBUG) process.stderr.write(`[peer] listener shutdown ${(performance.now() - t0).toFixed(0)} ms\n`);
        // The publisher first: Connection.close() with a confirm-mode publisher still open did not
        // resolve (rabbitmq-client 5.0.8) — that, not the peer's listener, was the "hang" at shutdown.
        await publisher?.close();
        await amqp?.close();
        if (process.env.PEER_DEBUG) process.stderr.write(`[peer] amqp closed ${(performance.now() - t0).toFixed(0)} ms\n`);
        await producers.end();
        if (process.env.PEER_DEBUG) process.stderr.write(`[peer] producers ended ${(performance.now() - t0).toFixed(0)} ms\n`);
        return true;
      })();
      return Promise.race([done, sleep(graceMs).then(() => false)]);
    },
  };
}

/**
 * Child side: the peer draining `count` messages written first (the target and queue exist
 * already). With `listener: 'replication'` its slot is created before the writes, so they are
 * all in the slot's stream when the listener starts.
 */
export async function peerDrain(ctx, target, broker, { count, aggregates, producerConnections, listener = 'polling' }) {
  await setupPeer(target);
  if (listener === 'replication') await setupPeerReplication(target);
  const parts = peerParts(ctx, target, broker, producerConnections, listener);
  try {
    await pooled(count, 4, (i) => parts.write(i, aggregates));
    const counter = await broker.consume();
    const result = await measuredDrain(ctx, counter, count, async () => {
      parts.start();
    });
    result.shutdownHung = !(await parts.stop(500));
    return result;
  } catch (error) {
    await parts.stop();
    throw error;
  }
}

/** Child side: the peer as an open-loop system (see `openLoop`). */
export async function peerSteady(ctx, target, broker, { rate, seconds, aggregates, producerConnections }) {
  let parts;
  const system = {
    async start() {
      await setupPeer(target);
      parts = peerParts(ctx, target, broker, producerConnections);
      parts.start();
    },
    async stop() {
      shutdownHung = !(await parts.stop(200));
    },
    write: (i) => parts.write(i, aggregates),
  };
  let shutdownHung = false;
  const result = await openLoop(ctx, broker, system, { rate, seconds });
  return { ...result, shutdownHung };
}

const CHILD = fileURLToPath(new URL('../peer-child.mjs', import.meta.url));

/**
 * Parent side: runs one peer measurement in a child process (lib/peer-child.mjs) against the
 * target schema and broker queue this process created (and cleans up). The child prints its
 * figures as one JSON line on stdout. After `deadlineMs` the child is killed (SIGKILL: a stalled
 * event loop cannot run a SIGTERM handler) and this rejects, so a stall is a failed figure
 * instead of a hung harness. `OUTBOX_BENCH_PEER_NODE_OPTIONS` adds node flags to the child
 * (e.g. `--cpu-prof --cpu-prof-dir=/tmp/peer-prof`).
 */
export function runPeerChild(ctx, target, broker, params, deadlineMs) {
  const job = {
    ...params,
    schema: target.postgres.schema,
    serverUrl: target.postgres.serverUrl,
    exchange: broker.exchange,
    rabbitmqUrl: ctx.urls.rabbitmq,
    timeoutMs: Math.max(1000, deadlineMs - 2000),
  };
  const nodeArgs = (process.env.OUTBOX_BENCH_PEER_NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...nodeArgs, CHILD, JSON.stringify(job)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.setEncoding('utf8').on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      const result = line ? JSON.parse(line) : undefined;
      if (result && !result.error) return resolve(result);
      if (timedOut) return reject(new Error(`peer child ${params.mode}: no result within the ${Math.round(deadlineMs / 1000)} s deadline, killed`));
      const why = result?.error ?? (stderr.trim().split('\n').slice(-3).join(' ') || `exit ${code ?? signal}`);
      reject(new Error(`peer child ${params.mode}: ${why}`));
    });
  });
}

function debugLogger() {
  const out = (level) => (obj, msg) =>
    process.stderr.write(
      `[peer ${level}] ${msg ?? ''} ${obj instanceof Error ? `${obj.message} ${obj.innerError?.message ?? ''}` : typeof obj === 'string' ? obj : ''}\n`,
    );
  const noop = () => {};
  return { level: 'warn', trace: noop, debug: noop, info: noop, warn: out('warn'), error: out('error'), fatal: out('fatal'), child: () => debugLogger() };
}
