// One isolated database per scenario run: a PostgreSQL schema, a MariaDB database or a SQLite
// file of its own, migrated, with a small business table for producers. Every target offers the
// same few operations, so the scenarios never branch on the database name.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { writeEvents, localCommits, signalLocalCommit, SHARD_COUNT } from '@outboxkit/core';
import { createPostgresDialect, createPgPool, pgDatabase, pgExecutor, pgListener, enqueue as pgEnqueue } from '@outboxkit/postgres';
import { createMysqlDialect, createMysqlPool, mysqlDatabase, mysqlExecutor, enqueue as mysqlEnqueue } from '@outboxkit/mysql';
import { createSqliteDialect, openSqliteDatabase, enqueue as sqliteEnqueue } from '@outboxkit/sqlite';
import { uniqueName, orderEvent, PRODUCER_CONNECTIONS } from './util.mjs';

export const ALL_SHARDS = Array.from({ length: SHARD_COUNT }, (_, i) => i);
export { PRODUCER_CONNECTIONS, MAX_PRODUCER_CONNECTIONS } from './util.mjs';
const PREWRITE_CHUNK = 500;

// The producer's floor: a row of the outbox row's size in a table without any index, so the
// outbox write is judged against the cost of writing any row at all.
const FLOOR_COLUMNS = 'id, aggregate_type, aggregate_id, type, payload, headers, occurred_at';
const FLOOR_COLUMNS_PG =
  'id uuid NOT NULL, aggregate_type varchar(255) NOT NULL, aggregate_id varchar(255) NOT NULL, type varchar(255) NOT NULL, payload jsonb NOT NULL, headers jsonb NOT NULL, occurred_at timestamptz(3) NOT NULL';
const FLOOR_COLUMNS_MYSQL =
  'id CHAR(36) NOT NULL, aggregate_type VARCHAR(255) NOT NULL, aggregate_id VARCHAR(255) NOT NULL, type VARCHAR(255) NOT NULL, payload JSON NOT NULL, headers JSON NOT NULL, occurred_at DATETIME(3) NOT NULL';
const FLOOR_COLUMNS_SQLITE =
  'id TEXT NOT NULL, aggregate_type TEXT NOT NULL, aggregate_id TEXT NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, headers TEXT NOT NULL, occurred_at INTEGER NOT NULL';
function floorRow(event, occurredAt = new Date()) {
  return [randomUUID(), event.aggregateType, event.aggregateId, event.type, JSON.stringify(event.payload), JSON.stringify(event.headers ?? {}), occurredAt];
}
const HISTORY_CHUNK = 100_000;

/**
 * @typedef {object} Target
 * @property {'postgres'|'mysql'|'sqlite'} kind
 * @property {string} [url]  a URL reaching this target's tables (PostgreSQL: the server, the schema is the dialect's; MariaDB: its database); none for SQLite
 * @property {import('@outboxkit/core').Dialect} dialect      the relay's dialect (PostgreSQL: NOTIFY on, a channel of its own)
 * @property {import('@outboxkit/core').SqlDatabase} db        the relay's pool
 * @property {(wake: boolean) => import('@outboxkit/core').WakeSource[]} wakeSources  wake-ups for the relay: LISTEN or the in-process signal, or none
 * @property {(i: number, options: { outbox: boolean, notify?: boolean, wake?: boolean, plainRow?: boolean, event?: object }) => Promise<string|null>} businessTx
 *   one business transaction (an order row, plus the outbox event through the raw `enqueue` when `outbox`, plus a row of the
 *   event's size in an unindexed table when `plainRow`: the producer's floor); resolves after COMMIT with the event id
 * @property {(count: number, aggregates: number) => Promise<void>} prewrite  writes pending events through the real write path, in chunks
 * @property {(count: number) => Promise<void>} addHistory  bulk-inserts history rows in SQL (generate_series / recursive CTE)
 * @property {() => Promise<number>} pending
 * @property {() => Promise<void>} close  closes the pools and drops the schema / database / file
 */

/**
 * @param {{ producerConnections?: number }} [options]  size of the producers' pool (PostgreSQL, MariaDB)
 * @returns {Promise<Target>}
 */
export function openTarget(kind, urls, { producerConnections = PRODUCER_CONNECTIONS } = {}) {
  if (kind === 'postgres') return openPostgres(urls.postgres, producerConnections);
  if (kind === 'mysql') return openMysql(urls.mysql, producerConnections);
  if (kind === 'sqlite') return openSqlite();
  throw new Error(`unknown database ${kind}; use postgres, mysql or sqlite`);
}

function prewriteWith(dialect, transaction, parallel) {
  // Aggregates are split between parallel writers, so no two transactions contend for one
  // aggregate's sequence row and each aggregate's events keep their order.
  return async (count, aggregates) => {
    const writers = Math.min(parallel, aggregates);
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const mine = [];
        for (let i = 0; i < count; i++) if ((i % aggregates) % writers === w) mine.push(i);
        for (let start = 0; start < mine.length; start += PREWRITE_CHUNK) {
          const events = mine.slice(start, start + PREWRITE_CHUNK).map((i) => orderEvent(i, aggregates));
          await transaction((tx) => writeEvents(dialect, tx, events));
        }
      }),
    );
  };
}

async function openPostgres(serverUrl, producerConnections) {
  const schema = uniqueName('bench');
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE SCHEMA "${schema}"`);
  await admin.end();
  const tables = { schema };
  const dialect = createPostgresDialect({ tables, notify: { channel: schema } });
  const quietDialect = createPostgresDialect({ tables, notify: false });
  const pool = createPgPool(serverUrl, { max: 4 });
  const db = pgDatabase(pool);
  await dialect.migrate(db);
  const orders = `"${schema}".bench_orders`;
  await db.query(`CREATE TABLE ${orders} (id varchar(64) PRIMARY KEY, total numeric(12,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`);
  const floor = `"${schema}".bench_floor`;
  await db.query(`CREATE TABLE ${floor} (${FLOOR_COLUMNS_PG})`);
  const producers = createPgPool(serverUrl, { max: producerConnections });
  const producerDb = pgDatabase(producers);
  const published = `"${schema}".outbox_published`;
  return {
    kind: 'postgres',
    producerConnections,
    /** For the peer, which keeps its own table in the same schema. */
    postgres: { schema, serverUrl },
    /** What a relay process needs to open this database (see lib/relay-child.mjs). */
    childConfig: () => ({ kind: 'postgres', url: serverUrl, schema }),
    url: serverUrl,
    dialect,
    db,
    wakeSources: (wake) => (wake ? [pgListener({ connect: serverUrl, channel: schema })] : []),
    async businessTx(i, { outbox, notify = true, plainRow = false, event }) {
      const client = await producers.connect();
      try {
        await client.query('BEGIN');
        await client.query(`INSERT INTO ${orders} (id, total) VALUES ($1, $2)`, [`${i}-${process.hrtime.bigint()}`, i % 10_000]);
        const written = outbox ? await pgEnqueue(client, event, { dialect: notify ? dialect : quietDialect }) : null;
        if (plainRow) await client.query(`INSERT INTO ${floor} (${FLOOR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)`, floorRow(event));
        await client.query('COMMIT');
        return written?.[0]?.id ?? null;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        client.release();
      }
    },
    prewrite: prewriteWith(dialect, (fn) => producerDb.transaction(fn), 4),
    async addHistory(count) {
      for (let from = 1; from <= count; from += HISTORY_CHUNK) {
        const to = Math.min(count, from + HISTORY_CHUNK - 1);
        await db.query(
          `INSERT INTO ${published} (position, id, aggregate_type, aggregate_id, sequence, shard, type, payload, occurred_at, created_at, published_at) ` +
            `SELECT -g, ('00000000-0000-4000-8000-' || lpad(g::text, 12, '0'))::uuid, 'history', 'h-' || (g % 10000), g / 10000 + 1, g % 64, ` +
            `'order.placed', '{"orderId":"h","total":1.99,"currency":"EUR","note":"history row"}'::jsonb, now(), now(), now() ` +
            `FROM generate_series($1::bigint, $2::bigint) AS g`,
          [from, to],
        );
      }
      await db.query(`ANALYZE ${published}`);
    },
    pending: () => dialect.countPending(db),
    async close() {
      await producers.end().catch(() => {});
      await pool.end().catch(() => {});
      const cleanup = new pg.Client({ connectionString: serverUrl });
      await cleanup.connect();
      await cleanup.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await cleanup.end();
    },
  };
}

async function openMysql(serverUrl, producerConnections) {
  const database = uniqueName('bench');
  const admin = createMysqlPool(serverUrl, { connectionLimit: 1 });
  await admin.query(`CREATE DATABASE \`${database}\``);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  const dialect = createMysqlDialect();
  const pool = createMysqlPool(url.toString(), { connectionLimit: 4 });
  const db = mysqlDatabase(pool);
  await dialect.migrate(db);
  await db.query(
    'CREATE TABLE bench_orders (id VARCHAR(64) PRIMARY KEY, total DECIMAL(12,2) NOT NULL, created_at DATETIME(3) NOT NULL DEFAULT (UTC_TIMESTAMP(3)))',
  );
  await db.query(`CREATE TABLE bench_floor (${FLOOR_COLUMNS_MYSQL})`);
  const producers = createMysqlPool(url.toString(), { connectionLimit: producerConnections });
  const producerDb = mysqlDatabase(producers);
  return {
    kind: 'mysql',
    producerConnections,
    childConfig: () => ({ kind: 'mysql', url: url.toString() }),
    url: url.toString(),
    dialect,
    db,
    wakeSources: (wake) => (wake ? [localCommits] : []),
    async businessTx(i, { outbox, wake = false, plainRow = false, event }) {
      const conn = await producers.getConnection();
      try {
        await conn.query('START TRANSACTION');
        await conn.query('INSERT INTO bench_orders (id, total) VALUES (?, ?)', [`${i}-${process.hrtime.bigint()}`, i % 10_000]);
        const written = outbox ? await mysqlEnqueue(conn, event, { dialect }) : null;
        if (plainRow) await conn.query(`INSERT INTO bench_floor (${FLOOR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`, floorRow(event));
        await conn.query('COMMIT');
        if (outbox && wake) signalLocalCommit();
        return written?.[0]?.id ?? null;
      } catch (error) {
        await conn.query('ROLLBACK').catch(() => {});
        throw error;
      } finally {
        conn.release();
      }
    },
    prewrite: prewriteWith(dialect, (fn) => producerDb.transaction(fn), 4),
    async addHistory(count) {
      // MariaDB has no generate_series: a recursive CTE counts, chunk by chunk (the recursion
      // limit is raised for this session only).
      await db.transaction(async (tx) => {
        await tx.query(`SET SESSION max_recursive_iterations = ${HISTORY_CHUNK + 10}`);
        for (let from = 1; from <= count; from += HISTORY_CHUNK) {
          const to = Math.min(count, from + HISTORY_CHUNK - 1);
          await tx.query(
            'INSERT INTO outbox_published (position, id, aggregate_type, aggregate_id, sequence, shard, type, payload, headers, occurred_at, created_at, available_at, published_at) ' +
              'WITH RECURSIVE g (n) AS (SELECT ? UNION ALL SELECT n + 1 FROM g WHERE n < ?) ' +
              "SELECT -n, CONCAT('00000000-0000-4000-8000-', LPAD(n, 12, '0')), 'history', CONCAT('h-', n MOD 10000), n DIV 10000 + 1, n MOD 64, " +
              '\'order.placed\', \'{"orderId":"h","total":1.99,"currency":"EUR","note":"history row"}\', \'{}\', UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), UTC_TIMESTAMP(3), UTC_TIMESTAMP(3) FROM g',
            [from, to],
          );
        }
      });
      await db.query('ANALYZE TABLE outbox_published');
    },
    pending: () => dialect.countPending(db),
    async close() {
      await producers.end().catch(() => {});
      await pool.end().catch(() => {});
      const cleanup = createMysqlPool(serverUrl, { connectionLimit: 1 });
      await cleanup.query(`DROP DATABASE IF EXISTS \`${database}\``);
      await cleanup.end();
    },
  };
}

async function openSqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'outboxkit-bench-'));
  const file = join(dir, 'bench.db');
  const dialect = createSqliteDialect();
  const db = openSqliteDatabase(file);
  await dialect.migrate(db);
  await db.query('CREATE TABLE bench_orders (id TEXT PRIMARY KEY, total REAL NOT NULL, created_at INTEGER NOT NULL)');
  await db.query(`CREATE TABLE bench_floor (${FLOOR_COLUMNS_SQLITE})`);
  // A second connection, as a separate application would have: SQLite serialises the writers.
  const writer = openSqliteDatabase(file);
  return {
    kind: 'sqlite',
    producerConnections: 1,
    childConfig: () => ({ kind: 'sqlite', file }),
    dialect,
    db,
    wakeSources: (wake) => (wake ? [localCommits] : []),
    async businessTx(i, { outbox, wake = false, plainRow = false, event }) {
      const written = await writer.transaction(async (tx) => {
        await tx.query('INSERT INTO bench_orders (id, total, created_at) VALUES (?, ?, ?)', [`${i}-${process.hrtime.bigint()}`, i % 10_000, Date.now()]);
        if (plainRow) await tx.query(`INSERT INTO bench_floor (${FLOOR_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)`, floorRow(event, Date.now()));
        return outbox ? sqliteEnqueue(tx, event) : null;
      });
      if (outbox && wake) signalLocalCommit();
      return written?.[0]?.id ?? null;
    },
    prewrite: prewriteWith(dialect, (fn) => writer.transaction(fn), 1),
    async addHistory(count) {
      for (let from = 1; from <= count; from += HISTORY_CHUNK) {
        const to = Math.min(count, from + HISTORY_CHUNK - 1);
        await db.query(
          'WITH RECURSIVE g (n) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT n + 1 FROM g WHERE n < CAST(? AS INTEGER)) ' +
            'INSERT INTO outbox_published (position, id, aggregate_type, aggregate_id, sequence, shard, type, payload, headers, occurred_at, created_at, available_at, published_at) ' +
            "SELECT -n, printf('00000000-0000-4000-8000-%012d', n), 'history', 'h-' || (n % 10000), n / 10000 + 1, n % 64, 'order.placed', " +
            '\'{"orderId":"h","total":1.99,"currency":"EUR","note":"history row"}\', \'{}\', ' +
            "CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER), CAST(unixepoch('subsec') * 1000 AS INTEGER) FROM g",
          [from, to],
        );
      }
      await db.query('ANALYZE');
    },
    pending: () => dialect.countPending(db),
    async close() {
      await writer.close().catch(() => {});
      await db.close().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { pgExecutor, mysqlExecutor };
