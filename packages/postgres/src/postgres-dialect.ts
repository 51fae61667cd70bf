import {
  guardMissingTables,
  OutboxValidationError,
  someCause,
  storableText,
  type Dialect,
  type Envelope,
  type Lease,
  type OutboxStatus,
  type SqlExecutor,
} from '@outboxkit/core';
import { postgresInbox } from './postgres-inbox.js';
import { migratePostgres, postgresMigrations, recordPostgresMigration } from './postgres-migrations.js';
import { postgresOperations } from './postgres-operations.js';
import { normalizePostgresOptions, type PostgresDialectOptions } from './postgres-options.js';
import { toDate, toLeaseRow, toLeases, toNumber, toStoredEvent, type EventRow } from './postgres-rows.js';
import { postgresStatements } from './postgres-sql.js';

/** The PostgreSQL dialect: every role of core's `Dialect`, plus the NOTIFY channel its writers signal. */
export interface PostgresDialect extends Dialect {
  /** The channel written to at every commit that enqueued events, or null when notify is off. */
  readonly notifyChannel: string | null;
}

/**
 * Creates the PostgreSQL dialect. Options are validated here, before any SQL exists, so a bad
 * table name or channel fails at startup with an `OutboxConfigError` naming the option.
 *
 * @example
 * const dialect = createPostgresDialect({ tables: { schema: 'app' }, notify: { channel: 'app_outbox' } });
 * await dialect.migrate(pgDatabase(pool));
 */
export function createPostgresDialect(options?: PostgresDialectOptions): PostgresDialect {
  const { tables, notifyChannel } = normalizePostgresOptions(options);
  const sql = postgresStatements(tables);
  const migrations = postgresMigrations(tables);

  const dialect: PostgresDialect = {
    name: 'postgres',
    tables,
    notifyChannel,

    migrations: () => migrations,
    recordMigration: (migration) => recordPostgresMigration(tables, migration),
    migrate: (db) => migratePostgres(db, tables),
    ...postgresInbox(tables),

    // replay, quarantine, reconcile, cleanup: see postgres-operations.ts
    ...postgresOperations(tables),

    async inTransaction(exec: SqlExecutor) {
      if (exec.inTransaction !== undefined) return exec.inTransaction;
      const { rows } = await exec.query<{ in_transaction: boolean }>(sql.inTransaction);
      return rows[0]?.in_transaction === true;
    },

    async insertEvents(tx: SqlExecutor, envelopes: readonly Envelope[]) {
      // Serialise (and check) everything before the first statement, so a value PostgreSQL
      // would refuse cannot abort the caller's transaction halfway through the batch.
      const rows = envelopes.map(toInsertParams);
      const sequences: number[] = [];
      for (const [i, params] of rows.entries()) {
        // The last event also sends the NOTIFY (one per transaction is enough).
        const notify = notifyChannel !== null && i === rows.length - 1;
        const result = await tx.query<{ sequence: unknown }>(
          notify ? sql.insertEventNotify : sql.insertEvent,
          notify ? [...params, notifyChannel, tables.schema ?? ''] : params,
        );
        sequences.push(toNumber(result.rows[0]?.sequence));
      }
      return sequences;
    },

    async countPending(exec: SqlExecutor) {
      const { rows } = await exec.query<{ n: unknown }>(sql.countPending);
      return toNumber(rows[0]?.n);
    },

    async claim(exec: SqlExecutor, shards: readonly number[], limit: number, exclude: readonly string[] = []) {
      if (shards.length === 0 || limit <= 0) return [];
      const { rows } =
        exclude.length === 0
          ? await exec.query<EventRow>(sql.claim, [shards, limit])
          : await exec.query<EventRow>(sql.claimExcluding, [shards, limit, exclude]);
      return rows.map(toStoredEvent);
    },

    async lockLeaseRows(tx: SqlExecutor, shards: readonly number[]) {
      if (shards.length === 0) return [];
      const { rows } = await tx.query<{ shard: unknown; owner: string | null; epoch: unknown }>(sql.lockLeaseRows, [shards]);
      return rows.map(toLeaseRow);
    },

    async markPublished(tx: SqlExecutor, ids: readonly string[], keepHistory: boolean) {
      if (ids.length === 0) return 0;
      const result = await tx.query(keepHistory ? sql.markPublishedKeep : sql.markPublishedDelete, [ids]);
      return result.rowCount;
    },

    async markFailed(tx: SqlExecutor, id: string, error: string, retryInMs: number) {
      await tx.query(sql.markFailed, [id, storableText(withoutNul(error)), retryInMs]);
    },

    async quarantine(tx: SqlExecutor, id: string, reason: string, status: 'parked' | 'dead-lettered') {
      await tx.query(sql.quarantine, [id, storableText(withoutNul(reason)), status]);
    },

    async heartbeat(exec: SqlExecutor, relayId: string, ttlMs: number) {
      const { rows } = await exec.query<{ relay_id: string }>(sql.heartbeat, [relayId, ttlMs]);
      return rows.map((row) => row.relay_id);
    },

    async acquire(exec: SqlExecutor, relayId: string, shards: readonly number[], ttlMs: number) {
      if (shards.length === 0) return [];
      const { rows } = await exec.query<{ shard: unknown; epoch: unknown }>(sql.acquire, [relayId, shards, ttlMs]);
      return toLeases(rows);
    },

    async renew(exec: SqlExecutor, relayId: string, leases: readonly Lease[], ttlMs: number) {
      if (leases.length === 0) return [];
      const { rows } = await exec.query<{ shard: unknown; epoch: unknown }>(sql.renew, [
        relayId,
        leases.map((lease) => lease.shard),
        leases.map((lease) => String(lease.epoch)),
        ttlMs,
      ]);
      return toLeases(rows);
    },

    async release(exec: SqlExecutor, relayId: string, shards: readonly number[]) {
      if (shards.length === 0) return;
      await exec.query(sql.release, [relayId, shards]);
    },

    async leave(exec: SqlExecutor, relayId: string) {
      await exec.query(sql.leave, [relayId]);
    },

    async status(exec: SqlExecutor): Promise<OutboxStatus> {
      const counts = await exec.query<{ backlog: unknown; oldest_age: unknown; quarantined: unknown; parked: unknown }>(sql.statusCounts);
      const owners = await exec.query<{ owner: string; shards: unknown; expires_in: unknown }>(sql.statusOwners);
      const row = counts.rows[0];
      return Object.freeze({
        backlog: toNumber(row?.backlog ?? 0),
        oldestPendingAgeSeconds: row?.oldest_age === null || row?.oldest_age === undefined ? null : toNumber(row.oldest_age),
        shardOwners: Object.freeze(
          owners.rows.map((owner) => Object.freeze({ owner: owner.owner, shards: toNumber(owner.shards), expiresInSeconds: toNumber(owner.expires_in) })),
        ),
        quarantined: toNumber(row?.quarantined ?? 0),
        parkedAggregates: toNumber(row?.parked ?? 0),
      });
    },
  };
  return guardMissingTables(dialect, isUndefinedTable);
}

/** SQLSTATE 42P01 undefined_table: the migrations were not applied to this database or schema. */
export function isUndefinedTable(error: unknown): boolean {
  return someCause(error, (candidate) => (candidate as { code?: unknown }).code === '42P01');
}

function toInsertParams(envelope: Envelope): unknown[] {
  // Explicit JSON text and ISO timestamps: pg would turn a JS array into a PostgreSQL array
  // literal, and other executors (ORM raw queries) serialise Dates in their own ways.
  const payload = JSON.stringify(envelope.payload);
  const headers = JSON.stringify(envelope.headers);
  if (JSON_NUL_ESCAPE.test(payload)) throw nulCharacterError('payload');
  if (JSON_NUL_ESCAPE.test(headers)) throw nulCharacterError('headers');
  return [
    envelope.aggregateType,
    envelope.aggregateId,
    envelope.id,
    envelope.shard,
    envelope.type,
    envelope.destination,
    payload,
    headers,
    toDate(envelope.occurredAt).toISOString(),
    // Absent in envelopes built before expiry existed (a plugin's own objects): never expires.
    envelope.expiresAt ? toDate(envelope.expiresAt).toISOString() : null,
  ];
}

// `\u0000` in JSON text, unless its backslash is itself escaped (the text "\\u0000" is fine).
const JSON_NUL_ESCAPE = /(?:^|[^\\])(?:\\\\)*\\u0000/;

function nulCharacterError(field: string): OutboxValidationError {
  return new OutboxValidationError(
    field,
    'contains a NUL character (\\u0000), which PostgreSQL jsonb cannot store; remove it or encode the value (e.g. base64)',
  );
}

/** PostgreSQL text cannot hold NUL; a broker error containing one must not make the relay's own update fail. */
function withoutNul(text: string): string {
  return text.replaceAll('\u0000', '');
}
