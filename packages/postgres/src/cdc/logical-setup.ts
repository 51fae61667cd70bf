import { OutboxError, type LogicalSetupResult, type LogicalSlotStatus, type ResolvedTables, type SqlExecutor } from '@outboxkit/core';
import { toNumber } from '../postgres-rows.js';
import { qualifiedTable, quoteIdentifier } from '../postgres-identifiers.js';
import type { ResolvedLogicalNames } from './logical-names.js';

/** SQLSTATE 42710 duplicate_object: another process created the slot or publication first. */
const DUPLICATE_OBJECT = '42710';

/**
 * The explicit, idempotent setup of the logical source (`outbox-relay setup-logical`): a
 * publication of the events table's INSERTs only (the relay's own deletes and retry updates are
 * not events), then a `pgoutput` slot. Runs in autocommit: PostgreSQL refuses to create a slot
 * inside a transaction that has written. Separate from `migrate` because both need privileges a
 * migration user often lacks (REPLICATION, table ownership) and a slot retains WAL from the
 * moment it exists: creating one must be a decision, never a side effect.
 */
export async function setupLogicalSource(exec: SqlExecutor, tables: ResolvedTables, names: ResolvedLogicalNames): Promise<LogicalSetupResult> {
  await requireLogicalWal(exec);
  const publicationCreated = await createPublication(exec, tables, names.publication);
  const slotCreated = await createSlot(exec, names.slot);
  return Object.freeze({ publication: names.publication, slot: names.slot, publicationCreated, slotCreated });
}

/**
 * The slot's lag and retained WAL, measured against the server's current WAL position, and how
 * long the oldest event the reader has not settled has waited; null when the slot does not exist.
 *
 * The seconds come from the events table, not from `pg_stat_replication`: under the logical
 * source a row leaves the table when its confirm is settled, just before the slot is confirmed
 * past it, so the oldest row is the oldest event the slot is behind on, and an idle outbox reads
 * 0 s however much unrelated WAL goes by. `pg_stat_replication`'s lag times stop growing when
 * the reader stops confirming (a broker outage) and vanish with the walsender (no reader at
 * all), exactly when they matter. The age counts from the row's `created_at` (the server's
 * clock at the start of the writing transaction), so a long producer transaction adds its own
 * duration; rows committed before the slot existed, which the slot never carries, show too.
 */
export async function readSlotStatus(exec: SqlExecutor, slot: string, tables: ResolvedTables): Promise<LogicalSlotStatus | null> {
  const { rows } = await exec.query<{ active: boolean; confirmed: string | null; lag_bytes: unknown; retained_bytes: unknown; lag_seconds: unknown }>(
    `SELECT active, confirmed_flush_lsn::text AS confirmed,
       pg_wal_lsn_diff(pg_current_wal_lsn(), confirmed_flush_lsn) AS lag_bytes,
       pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn) AS retained_bytes,
       greatest(0, coalesce(extract(epoch FROM now() - (SELECT e.created_at FROM ${qualifiedTable(tables, 'events')} e ORDER BY e.position LIMIT 1)), 0)) AS lag_seconds
     FROM pg_replication_slots WHERE slot_name = $1`,
    [slot],
  );
  const row = rows[0];
  if (row === undefined) return null;
  return Object.freeze({
    slot,
    active: row.active,
    confirmedLsn: row.confirmed ?? '0/0',
    lagBytes: toNumber(row.lag_bytes ?? 0),
    lagSeconds: Number(row.lag_seconds ?? 0),
    retainedWalBytes: toNumber(row.retained_bytes ?? 0),
  });
}

/** Fails with the fix when the server cannot decode its WAL (the default `wal_level` is `replica`). */
export async function requireLogicalWal(exec: SqlExecutor): Promise<void> {
  const { rows } = await exec.query<{ wal_level: string }>('SHOW wal_level');
  const level = rows[0]?.wal_level;
  if (level === 'logical') return;
  throw new OutboxError(
    'OUTBOX_LOGICAL_UNAVAILABLE',
    `the server runs with wal_level=${level ?? 'unknown'}; logical replication needs wal_level=logical ` +
      '(ALTER SYSTEM SET wal_level = logical, then restart PostgreSQL), or use --source poll',
  );
}

async function createPublication(exec: SqlExecutor, tables: ResolvedTables, publication: string): Promise<boolean> {
  const schema = tables.schema ?? 'public';
  const existing = await exec.query<{ covers: boolean }>(
    `SELECT EXISTS (SELECT 1 FROM pg_publication_tables t WHERE t.pubname = p.pubname AND t.schemaname = $2 AND t.tablename = $3) AS covers
     FROM pg_publication p WHERE p.pubname = $1`,
    [publication, schema, tables.names.events],
  );
  const found = existing.rows[0];
  if (found !== undefined) {
    if (found.covers) return false;
    throw new OutboxError(
      'OUTBOX_LOGICAL_SETUP',
      `publication ${publication} exists but does not include ${schema}.${tables.names.events}; ` +
        `pass another --publication, or add the table: ALTER PUBLICATION ${quoteIdentifier(publication)} ADD TABLE ${qualifiedTable(tables, 'events')}`,
    );
  }
  return ignoreDuplicate(() =>
    exec.query(`CREATE PUBLICATION ${quoteIdentifier(publication)} FOR TABLE ${qualifiedTable(tables, 'events')} WITH (publish = 'insert')`),
  );
}

async function createSlot(exec: SqlExecutor, slot: string): Promise<boolean> {
  const existing = await exec.query<{ plugin: string | null; same_database: boolean }>(
    'SELECT plugin, database = current_database() AS same_database FROM pg_replication_slots WHERE slot_name = $1',
    [slot],
  );
  const found = existing.rows[0];
  if (found !== undefined) {
    if (found.plugin === 'pgoutput' && found.same_database) return false;
    throw new OutboxError(
      'OUTBOX_LOGICAL_SETUP',
      `replication slot ${slot} exists but ${found.same_database ? `decodes with ${found.plugin ?? 'no plugin (physical slot)'}, not pgoutput` : 'belongs to another database'}; pass another --slot`,
    );
  }
  return ignoreDuplicate(() => exec.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]));
}

/** True when `create` created the object; false when another process won the race. */
async function ignoreDuplicate(create: () => Promise<unknown>): Promise<boolean> {
  try {
    await create();
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === DUPLICATE_OBJECT) return false;
    throw error;
  }
}
