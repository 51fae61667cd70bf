import {
  OutboxConfigError,
  resolveTables,
  type Dialect,
  type InboxDialect,
  type Lease,
  type OutboxStatus,
  type SqlExecutor,
  type TableOptions,
  shardsNotHeld,
} from '@outboxkit/core';
import { SqliteExecutor } from './sqlite-driver.js';
import { sqliteInbox } from './sqlite-inbox.js';
import { migrateSqlite, sqliteMigrations } from './sqlite-migrations.js';
import { sqliteOperations } from './sqlite-operations.js';
import { insertEventParams, sqliteStatements, toStoredEvent, type EventRow } from './sqlite-sql.js';

export interface SqliteDialectOptions {
  /**
   * Table names. `schema` is refused: SQLite's equivalent is an ATTACHed database file, and in
   * WAL mode a transaction spanning two files is atomic per file only, so an outbox row could
   * commit without its business change. Use `prefix` or `names` instead.
   * @example { prefix: 'shop_outbox_' }
   */
  tables?: TableOptions;
}

/**
 * The SQLite {@link Dialect}: one writer at a time for the whole database (`singleWriter`), no
 * row locks to skip and no notifications, so relays coordinate through the lease table only.
 *
 * @example
 * const dialect = createSqliteDialect({ tables: { prefix: 'shop_outbox_' } });
 * const db = openSqliteDatabase('./shop.db');
 * await dialect.migrate(db);
 */
export function createSqliteDialect(options: SqliteDialectOptions = {}): Dialect & InboxDialect {
  if (options.tables?.schema !== undefined) {
    throw new OutboxConfigError(
      'tables.schema',
      'SQLite has no schemas, and tables in an ATTACHed file would not commit atomically with your business tables in WAL mode; ' +
        'remove tables.schema and use tables.prefix or tables.names to separate outbox tables',
    );
  }
  const tables = resolveTables(options.tables);
  const sql = sqliteStatements(tables);

  return Object.freeze({
    name: 'sqlite',
    capabilities: Object.freeze({ supportsSkipLocked: false, supportsNotify: false, singleWriter: true }),
    tables,

    migrations: () => sqliteMigrations(tables),
    migrate: (db) => migrateSqlite(db, tables),
    ...sqliteInbox(tables),

    // replay, quarantine, reconcile, cleanup: see sqlite-operations.ts
    ...sqliteOperations(tables),

    inTransaction: executorInTransaction,

    async insertEvents(tx, envelopes) {
      const sequences: number[] = [];
      for (const envelope of envelopes) {
        const { rows } = await tx.query<{ last_sequence: number }>(sql.nextSequence, [envelope.aggregateType, envelope.aggregateId]);
        const sequence = rows[0]!.last_sequence;
        await tx.query(sql.insertEvent, insertEventParams(envelope, sequence));
        sequences.push(sequence);
      }
      return sequences;
    },

    async countPending(exec) {
      const { rows } = await exec.query<{ n: number }>(sql.countPending);
      // Number(): drivers other than better-sqlite3 (Prisma's adapter) return count(*) as a bigint.
      return Number(rows[0]!.n);
    },

    async claim(exec, shards, limit) {
      if (shards.length === 0 || limit <= 0) return [];
      const { rows } = await exec.query<EventRow>(sql.claim, [JSON.stringify(shards), limit]);
      return rows.map(toStoredEvent);
    },

    async fence(tx, relayId, leases) {
      if (leases.length === 0) return [];
      const { rows } = await tx.query<{ shard: number; owner: string | null; epoch: number }>(sql.fence, [
        JSON.stringify(leases.map((lease) => lease.shard)),
      ]);
      return shardsNotHeld(relayId, leases, rows);
    },

    async markPublished(tx, ids, keepHistory) {
      if (ids.length === 0) return 0;
      const idList = JSON.stringify(ids);
      if (keepHistory) await tx.query(sql.copyToPublished, [idList]);
      return (await tx.query(sql.deleteEvents, [idList])).rowCount;
    },

    async markFailed(tx, id, error, retryInMs) {
      await tx.query(sql.markFailed, [error, wholeMs(retryInMs), id]);
    },

    async quarantine(tx, id, reason, status) {
      await tx.query(sql.copyToQuarantine, [reason, reason, status, id]);
      await tx.query(sql.deleteEvent, [id]);
    },

    async heartbeat(exec, relayId, ttlMs) {
      await exec.query(sql.upsertRelay, [relayId, wholeMs(ttlMs)]);
      await exec.query(sql.pruneRelays, [relayId]);
      const { rows } = await exec.query<{ relay_id: string }>(sql.liveRelays, [relayId]);
      return rows.map((row) => row.relay_id);
    },

    async acquire(exec, relayId, shards, ttlMs) {
      if (shards.length === 0) return [];
      const { rows } = await exec.query<Lease>(sql.acquire, [relayId, relayId, wholeMs(ttlMs), JSON.stringify(shards), relayId]);
      return byShard(rows);
    },

    async renew(exec, relayId, leases, ttlMs) {
      if (leases.length === 0) return [];
      const held = JSON.stringify(leases.map((lease) => [lease.shard, lease.epoch]));
      const { rows } = await exec.query<Lease>(sql.renew, [wholeMs(ttlMs), relayId, held]);
      return byShard(rows);
    },

    async release(exec, relayId, shards) {
      if (shards.length === 0) return;
      await exec.query(sql.release, [relayId, JSON.stringify(shards)]);
    },

    async leave(exec, relayId) {
      await exec.query(sql.releaseAll, [relayId]);
      await exec.query(sql.deleteRelay, [relayId]);
    },

    async status(exec): Promise<OutboxStatus> {
      const figures = (
        await exec.query<{ backlog: number; oldest_age: number | null; quarantined: number; parked: number }>(sql.statusFigures)
      ).rows[0]!;
      const owners = await exec.query<{ owner: string; shards: number; expires_in: number }>(sql.shardOwners);
      return {
        backlog: Number(figures.backlog),
        oldestPendingAgeSeconds: figures.oldest_age === null ? null : Math.max(0, Number(figures.oldest_age)),
        shardOwners: owners.rows.map((row) => ({ owner: row.owner, shards: Number(row.shards), expiresInSeconds: Number(row.expires_in) })),
        quarantined: Number(figures.quarantined),
        parkedAggregates: Number(figures.parked),
      };
    },
  } satisfies Dialect & InboxDialect);
}

/**
 * Whether `exec` is inside an open transaction. A {@link SqliteExecutor} (from `sqliteExecutor`,
 * `enqueue`, or a transaction of `openSqliteDatabase`) asks its connection (`db.inTransaction`),
 * which costs no SQL. SQLite has no SQL to ask this, and probing with `BEGIN` could misfire on a
 * pooled executor, so another executor counts as in a transaction only if it says so through an
 * `inTransaction` property or method; otherwise it is treated as not in one (writes refuse).
 * ORM plugins that hold the ORM's transaction handle skip this check (`transactionChecked`).
 */
export async function executorInTransaction(exec: SqlExecutor): Promise<boolean> {
  if (exec instanceof SqliteExecutor) return exec.inTransaction;
  const probe = (exec as { inTransaction?: unknown }).inTransaction;
  return probe === true;
}

/** Times are whole milliseconds in STRICT INTEGER columns. */
function wholeMs(ms: number): number {
  return Math.max(0, Math.round(ms));
}

function byShard(rows: readonly Lease[]): Lease[] {
  return rows.map((row) => ({ shard: row.shard, epoch: row.epoch })).sort((a, b) => a.shard - b.shard);
}
