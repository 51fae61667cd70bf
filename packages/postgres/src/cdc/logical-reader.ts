import {
  ChangeLogReader,
  lsnToNumber,
  OutboxError,
  type ChangeLog,
  type ChangeSink,
  type ChangeStream as CoreChangeStream,
  type LeaseStore,
  type LogicalReaderOptions,
  type RelayStore,
  type SqlDatabase,
} from '@outboxkit/core';
import { ChangeStream } from './change-stream.js';
import type { ResolvedLogicalNames } from './logical-names.js';
import { readSlotStatus, requireLogicalWal } from './logical-setup.js';

export interface PostgresLogicalReaderOptions extends LogicalReaderOptions {
  /** The database URL; the reader opens its own replication connection with it. */
  readonly url: string;
  readonly dialect: RelayStore & LeaseStore;
  /** The relay's pool: settles, leases and slot samples. */
  readonly database: SqlDatabase;
  readonly names: ResolvedLogicalNames;
}

/**
 * The PostgreSQL logical-replication source of `outbox-relay run --source logical`: core's
 * {@link ChangeLogReader} (leases, batches, fenced settles) on a `pgoutput` slot.
 */
export class PostgresLogicalReader extends ChangeLogReader {
  constructor(options: PostgresLogicalReaderOptions) {
    super({ ...options, log: postgresChangeLog(options) });
  }
}

/**
 * A `pgoutput` slot as core's change log. PostgreSQL itself refuses a second walsender on a
 * slot, and keeps the checkpoint (the confirmed flush LSN, moved through the stream after each
 * settle). A reader that lost its leases never confirms the LSN again: the new one terminates
 * its walsender before streaming.
 */
export function postgresChangeLog(options: Pick<PostgresLogicalReaderOptions, 'url' | 'dialect' | 'database' | 'names'>): ChangeLog {
  const { url, names, database: db } = options;
  const schema = options.dialect.tables.schema ?? 'public';
  const table = options.dialect.tables.names.events;
  return {
    describe: { slot: names.slot, publication: names.publication },
    async check() {
      await requireLogicalWal(db);
      if ((await readSlotStatus(db, names.slot, options.dialect.tables)) === null) {
        throw new OutboxError(
          'OUTBOX_LOGICAL_SETUP',
          `replication slot ${names.slot} does not exist; create it and the publication with \`outbox-relay setup-logical\` (idempotent), then start again`,
        );
      }
    },
    status: () => readSlotStatus(db, names.slot, options.dialect.tables),
    async resume() {
      // The leases are ours, so a walsender still on the slot belongs to a reader that lost them
      // (paused, partitioned): end it, or PostgreSQL refuses this stream and it could confirm the LSN.
      await db.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [names.slot]);
      return (await readSlotStatus(db, names.slot, options.dialect.tables))?.confirmedLsn ?? '0/0';
    },
    open(_from: string, sink: ChangeSink): CoreChangeStream {
      // The slot streams from its own confirmed LSN, which resume() returned.
      return new ChangeStream({
        url,
        slot: names.slot,
        publication: names.publication,
        schema,
        table,
        onItem: (item) => sink.item(item.kind === 'event' ? item : { kind: 'commit', position: item.lsn }),
        onKeepalive: (lsn, mustReply, inTransaction) => sink.keepalive(lsn, mustReply, inTransaction),
      });
    },
    isAfter: (a, b) => lsnToNumber(a) > lsnToNumber(b),
  };
}
