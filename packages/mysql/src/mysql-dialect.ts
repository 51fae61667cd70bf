import { allOrNothing, guardMissingTables, storableText, type Dialect, type Envelope, type OutboxStatus, type SqlExecutor } from '@outboxkit/core';
import { inOneTransaction, type MysqlQueryResult } from './mysql-driver.js';
import { mysqlInbox } from './mysql-inbox.js';
import { migrateMysql, mysqlMigrations, recordMysqlMigration } from './mysql-migrations.js';
import { mysqlOperations } from './mysql-operations.js';
import { normalizeMysqlOptions, type MysqlDialectOptions } from './mysql-options.js';
import { toLease, toLeaseRow, toNumber, toNumberOrNull, toStoredEvent, type EventRow, type HeldLeaseRow } from './mysql-rows.js';
import { hasErrno, mysqlStatements, probeTransactionWithSavepoint, toMicroseconds, toUtcDateTime, type MysqlStatements } from './mysql-sql.js';

/** The MySQL / MariaDB dialect: every role of core's `Dialect`. */
export type MysqlDialect = Dialect;

const ER_UNKNOWN_SYSTEM_VARIABLE = 1193;

/**
 * The outboxkit dialect for MySQL 8.0.13+ and MariaDB 10.6+ (tested on MariaDB 10.11).
 * No LISTEN/NOTIFY: relays poll, and wake at once for commits signalled in-process.
 *
 * @example
 * const dialect = createMysqlDialect({ tables: { schema: 'app' } });
 * const db = mysqlDatabase(createMysqlPool(process.env.DATABASE_URL!));
 * await dialect.migrate(db);
 */
export function createMysqlDialect(options: MysqlDialectOptions = {}): MysqlDialect {
  const { tables } = normalizeMysqlOptions(options);
  const sql = mysqlStatements(tables);
  const migrations = mysqlMigrations(tables);
  // Learned on first use: the server is MySQL (no @@in_transaction) and needs the savepoint probe.
  let lacksInTransactionVariable = false;

  const dialect: MysqlDialect = {
    name: 'mysql',
    tables,

    migrations: () => migrations,
    recordMigration: (migration) => recordMysqlMigration(tables, migration),
    migrate: (db) => migrateMysql(db, tables, migrations),
    ...mysqlInbox(tables),

    // replay, quarantine, reconcile, cleanup: see mysql-operations.ts
    ...mysqlOperations(tables),

    /**
     * MariaDB reports `@@in_transaction` (1 right after BEGIN). MySQL has no such variable, so
     * there the savepoint probe decides (see probeTransactionWithSavepoint).
     */
    async inTransaction(exec) {
      if (!lacksInTransactionVariable) {
        try {
          const { rows } = await exec.query<{ in_transaction: unknown }>(sql.inTransaction);
          return toNumber(rows[0]?.in_transaction ?? 0) === 1;
        } catch (error) {
          if (!hasErrno(error, ER_UNKNOWN_SYSTEM_VARIABLE, 'ER_UNKNOWN_SYSTEM_VARIABLE')) throw error;
          lacksInTransactionVariable = true;
        }
      }
      return probeTransactionWithSavepoint(exec, sql);
    },

    /**
     * In a savepoint: a statement that fails (a duplicate event id, say) after the sequence bump
     * or after an earlier event of the write undoes the whole write, not just itself, so a
     * caller who commits anyway keeps no sequence gap and no half of the write.
     */
    insertEvents: (tx, events) =>
      allOrNothing(tx, sql.writeSavepoint, async () => {
        const sequences: number[] = [];
        for (const event of events) {
          const sequence = await nextSequence(tx, sql, event);
          await tx.query(sql.insertEvent, eventValues(event, sequence));
          sequences.push(sequence);
        }
        return sequences;
      }),

    async countPending(exec) {
      const { rows } = await exec.query<{ count: unknown }>(sql.countPending);
      return toNumber(rows[0]?.count ?? 0);
    },

    async claim(exec, shards, limit, exclude = []) {
      if (shards.length === 0 || limit <= 0) return [];
      const excluded = exclude.length === 0 ? [] : [JSON.stringify(exclude)];
      const { rows } = await exec.query<EventRow>(sql.claim(shards.length, excluded.length > 0), [...shards, ...excluded, Math.floor(limit)]);
      return rows.map(toStoredEvent);
    },

    async lockLeaseRows(tx, shards) {
      if (shards.length === 0) return [];
      const sorted = [...shards].sort((a, b) => a - b);
      const { rows } = await tx.query<HeldLeaseRow & { owner: string | null }>(sql.lockLeaseRows, [JSON.stringify(sorted)]);
      return rows.map(toLeaseRow);
    },

    async markPublished(tx, ids, keepHistory) {
      if (ids.length === 0) return 0;
      const idList = JSON.stringify(ids);
      if (keepHistory) await tx.query(sql.copyToPublished, [idList]);
      const { rowCount } = await tx.query(sql.deleteEvents, [idList]);
      return rowCount;
    },

    async markFailed(tx, id, error, retryInMs) {
      await tx.query(sql.markFailed, [storableText(error), toMicroseconds(retryInMs, 'retryInMs'), id]);
    },

    async quarantine(tx, id, reason, status) {
      const text = storableText(reason);
      await tx.query(sql.deleteResolvedQuarantine, [id]);
      await tx.query(sql.copyToQuarantine, [text, text, status, id]);
      await tx.query(sql.deleteEvent, [id]);
    },

    async heartbeat(exec, relayId, ttlMs) {
      const ttl = toMicroseconds(ttlMs, 'ttlMs');
      await exec.query(sql.upsertRelay, [relayId, ttl, ttl]);
      await exec.query(sql.deleteExpiredRelays, [relayId]);
      const { rows } = await exec.query<{ relay_id: string }>(sql.liveRelays);
      // Sorted here, not by the collation, so every dialect agrees on the order relays split shards by.
      return rows.map((row) => row.relay_id).sort();
    },

    async acquire(exec, relayId, shards, ttlMs) {
      if (shards.length === 0) return [];
      const ttl = toMicroseconds(ttlMs, 'ttlMs');
      // Sorted: rows are locked in this order, the order lockLeaseRows uses too, so the two never deadlock.
      const requested = JSON.stringify([...new Set(shards)].sort((a, b) => a - b));
      return inOneTransaction(exec, async (tx) => {
        const locked = await tx.query<{ shard: unknown }>(sql.lockLeases, [requested]);
        if (locked.rows.length === 0) return [];
        const shardList = JSON.stringify(locked.rows.map((row) => toNumber(row.shard)));
        await tx.query(sql.extendOwnLeases, [shardList, ttl, relayId]);
        await tx.query(sql.takeOverLeases, [shardList, relayId, ttl, relayId]);
        const { rows } = await tx.query<HeldLeaseRow>(sql.heldLeases, [shardList, relayId]);
        return rows.map(toLease);
      });
    },

    async renew(exec, relayId, leases, ttlMs) {
      if (leases.length === 0) return [];
      const ttl = toMicroseconds(ttlMs, 'ttlMs');
      const leaseList = JSON.stringify([...leases].sort((a, b) => a.shard - b.shard).map(({ shard, epoch }) => ({ shard, epoch })));
      return inOneTransaction(exec, async (tx) => {
        await tx.query(sql.renewLeases, [leaseList, ttl, relayId]);
        const { rows } = await tx.query<HeldLeaseRow>(sql.heldOfLeases, [leaseList, relayId]);
        return rows.map(toLease);
      });
    },

    async release(exec, relayId, shards) {
      if (shards.length === 0) return;
      await exec.query(sql.releaseLeases, [JSON.stringify([...shards].sort((a, b) => a - b)), relayId]);
    },

    async leave(exec, relayId) {
      await inOneTransaction(exec, async (tx) => {
        await tx.query(sql.releaseAllLeases, [relayId]);
        await tx.query(sql.deleteRelay, [relayId]);
      });
    },

    async status(exec): Promise<OutboxStatus> {
      const figures = await exec.query<Record<string, unknown>>(sql.statusFigures);
      const owners = await exec.query<{ owner: string; shards: unknown; expires_in_us: unknown }>(sql.shardOwners);
      const row = figures.rows[0] ?? {};
      const oldestAgeUs = toNumberOrNull(row.oldest_age_us);
      return {
        backlog: toNumber(row.backlog ?? 0),
        oldestPendingAgeSeconds: oldestAgeUs === null ? null : oldestAgeUs / 1e6,
        shardOwners: owners.rows.map((owner) => ({
          owner: owner.owner,
          shards: toNumber(owner.shards),
          expiresInSeconds: toNumber(owner.expires_in_us) / 1e6,
        })),
        quarantined: toNumber(row.quarantined ?? 0),
        parkedAggregates: toNumber(row.parked_aggregates ?? 0),
      };
    },
  };
  // ER_NO_SUCH_TABLE: the migrations were not applied to this database.
  return guardMissingTables(dialect, (error) => hasErrno(error, 1146, 'ER_NO_SUCH_TABLE'));
}

/**
 * Upserts the aggregate's sequence row and returns the new value. Executors from this package
 * carry the OK packet's insert id (set by LAST_INSERT_ID(expr)); others, such as an ORM's, get
 * one more round trip on the same connection.
 */
async function nextSequence(tx: SqlExecutor, sql: MysqlStatements, event: Envelope): Promise<number> {
  const result: MysqlQueryResult<unknown> = await tx.query(sql.upsertSequence, [event.aggregateType, event.aggregateId]);
  if (typeof result.insertId === 'number' && result.insertId > 0) return result.insertId;
  const { rows } = await tx.query<{ value: unknown }>(sql.lastInsertId);
  return toNumber(rows[0]?.value);
}

function eventValues(event: Envelope, sequence: number): unknown[] {
  return [
    event.id,
    event.aggregateType,
    event.aggregateId,
    sequence,
    event.shard,
    event.type,
    event.destination,
    JSON.stringify(event.payload),
    JSON.stringify(event.headers),
    toUtcDateTime(event.occurredAt),
    // Absent in envelopes built before expiry existed (a plugin's own objects): never expires.
    event.expiresAt ? toUtcDateTime(event.expiresAt) : null,
  ];
}
