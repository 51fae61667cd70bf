import {
  allOrNothing,
  guardMissingTables,
  someCause,
  storableText,
  type Dialect,
  type Lease,
  type LeaseRow,
  type OutboxStatus,
  type SqlExecutor,
} from '@outboxkit/core';
import { SqliteExecutor } from './sqlite-driver.js';
import { sqliteInbox } from './sqlite-inbox.js';
import { migrateSqlite, recordSqliteMigration, sqliteMigrations } from './sqlite-migrations.js';
import { sqliteOperations } from './sqlite-operations.js';
import { normalizeSqliteOptions, type SqliteDialectOptions } from './sqlite-options.js';
import { toLeaseRow, toLeases, toStoredEvent, type EventRow } from './sqlite-rows.js';
import { insertEventParams, sqliteStatements } from './sqlite-sql.js';

/** The SQLite dialect: every role of core's `Dialect`. */
export type SqliteDialect = Dialect;

/**
 * The SQLite dialect. SQLite has one writer at a time for the whole database, no row locks to
 * skip and no notifications, so relays coordinate through the lease table only.
 *
 * @example
 * const dialect = createSqliteDialect({ tables: { prefix: 'shop_outbox_' } });
 * const db = openSqliteDatabase('./shop.db');
 * await dialect.migrate(db);
 */
export function createSqliteDialect(options: SqliteDialectOptions = {}): SqliteDialect {
  const { tables } = normalizeSqliteOptions(options);
  const sql = sqliteStatements(tables);

  return guardMissingTables(
    {
      name: 'sqlite',
      tables,

      migrations: () => sqliteMigrations(tables),
      recordMigration: (migration) => recordSqliteMigration(tables, migration),
      migrate: (db) => migrateSqlite(db, tables),
      ...sqliteInbox(tables),

      // replay, quarantine, reconcile, cleanup: see sqlite-operations.ts
      ...sqliteOperations(tables),

      inTransaction: executorInTransaction,

      // In a savepoint: a failed statement (a duplicate event id) undoes the whole write, its
      // sequence bumps included, even for a caller who commits anyway.
      insertEvents: (tx, envelopes) =>
        allOrNothing(tx, sql.writeSavepoint, async () => {
          const sequences: number[] = [];
          for (const envelope of envelopes) {
            const { rows } = await tx.query<{ last_sequence: number }>(sql.nextSequence, [envelope.aggregateType, envelope.aggregateId]);
            const sequence = rows[0]!.last_sequence;
            await tx.query(sql.insertEvent, insertEventParams(envelope, sequence));
            sequences.push(sequence);
          }
          return sequences;
        }),

      async countPending(exec) {
        const { rows } = await exec.query<{ n: number }>(sql.countPending);
        // Number(): drivers other than better-sqlite3 (Prisma's adapter) return count(*) as a bigint.
        return Number(rows[0]!.n);
      },

      async claim(exec, shards, limit, exclude = []) {
        if (shards.length === 0 || limit <= 0) return [];
        const shardList = JSON.stringify(shards);
        const { rows } =
          exclude.length === 0
            ? await exec.query<EventRow>(sql.claim, [shardList, limit])
            : await exec.query<EventRow>(sql.claimExcluding, [shardList, JSON.stringify(exclude), limit]);
        return rows.map(toStoredEvent);
      },

      async lockLeaseRows(tx, shards) {
        if (shards.length === 0) return [];
        const { rows } = await tx.query<LeaseRow>(sql.lockLeaseRows, [JSON.stringify(shards)]);
        return rows.map(toLeaseRow);
      },

      async markPublished(tx, ids, keepHistory) {
        if (ids.length === 0) return 0;
        const idList = JSON.stringify(ids);
        if (keepHistory) await tx.query(sql.copyToPublished, [idList]);
        return (await tx.query(sql.deleteEvents, [idList])).rowCount;
      },

      async markFailed(tx, id, error, retryInMs) {
        await tx.query(sql.markFailed, [storableText(error), wholeMs(retryInMs), id]);
      },

      async quarantine(tx, id, reason, status) {
        const text = storableText(reason);
        await tx.query(sql.copyToQuarantine, [text, text, status, id]);
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
        return toLeases(rows);
      },

      async renew(exec, relayId, leases, ttlMs) {
        if (leases.length === 0) return [];
        const held = JSON.stringify(leases.map((lease) => [lease.shard, lease.epoch]));
        const { rows } = await exec.query<Lease>(sql.renew, [wholeMs(ttlMs), relayId, held]);
        return toLeases(rows);
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
        const figures = (await exec.query<{ backlog: number; oldest_age: number | null; quarantined: number; parked: number }>(sql.statusFigures)).rows[0]!;
        const owners = await exec.query<{ owner: string; shards: number; expires_in: number }>(sql.shardOwners);
        return {
          backlog: Number(figures.backlog),
          oldestPendingAgeSeconds: figures.oldest_age === null ? null : Math.max(0, Number(figures.oldest_age)),
          shardOwners: owners.rows.map((row) => ({ owner: row.owner, shards: Number(row.shards), expiresInSeconds: Number(row.expires_in) })),
          quarantined: Number(figures.quarantined),
          parkedAggregates: Number(figures.parked),
        };
      },
    } satisfies SqliteDialect,
    isNoSuchTable,
  );
}

/** SQLite reports a missing table only in its message ("no such table: outbox_events"), with code SQLITE_ERROR. */
export function isNoSuchTable(error: unknown): boolean {
  return someCause(error, (candidate) => candidate instanceof Error && candidate.message.includes('no such table'));
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
