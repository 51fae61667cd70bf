import { lsnToNumber, type StoredEvent } from '@outboxkit/core';
import type { LogicalReplicationService } from 'pg-logical-replication';
import { toDate, toNumber } from '../postgres-rows.js';

/**
 * `pg-logical-replication` is loaded on the first stream, not with the package: only
 * `run --source logical` needs it, and every application that writes events imports
 * `@outboxkit/postgres`. A CommonJS package: its named exports are read from the default export.
 */
async function loadReplication(): Promise<typeof import('pg-logical-replication')> {
  return (await import('pg-logical-replication')).default;
}

/** What the stream hands the reader, in WAL order: committed events, and the end of each transaction. */
export type StreamItem = { readonly kind: 'event'; readonly event: StoredEvent } | { readonly kind: 'commit'; readonly lsn: string };

export interface ChangeStreamOptions {
  readonly url: string;
  readonly slot: string;
  readonly publication: string;
  /** The events table, as pgoutput names it. */
  readonly schema: string;
  readonly table: string;
  /** Called synchronously, in WAL order, for every item. */
  onItem(item: StreamItem): void;
  /** A server keepalive: `lsn` is how far the server has sent; `inTransaction` is true between a transaction's begin and commit. */
  onKeepalive(lsn: string, mustReply: boolean, inTransaction: boolean): void;
}

/**
 * One `pgoutput` replication connection on the slot, through `pg-logical-replication` with
 * automatic acknowledgement OFF: the slot's confirmed LSN moves only when the reader calls
 * {@link confirm}, after the events before it were confirmed by the broker and settled.
 * Messages are handed over synchronously, so keepalives and data stay in WAL order (the
 * package's flow control would queue data but not keepalives); {@link pause} is the
 * backpressure instead.
 */
export class ChangeStream {
  readonly #options: ChangeStreamOptions;
  /** Null until run() loaded the package. */
  #service: LogicalReplicationService | null = null;
  #inTransaction = false;
  #stopped = false;

  constructor(options: ChangeStreamOptions) {
    this.#options = options;
  }

  /** Streams from the slot's confirmed LSN; resolves when stopped, rejects when the connection fails. */
  async run(): Promise<void> {
    const { LogicalReplicationService, PgoutputPlugin } = await loadReplication();
    if (this.#stopped) return;
    // timeoutSeconds 0: no periodic status update of its own, which would confirm the last LSN RECEIVED.
    const service = new LogicalReplicationService({ connectionString: this.#options.url }, { acknowledge: { auto: false, timeoutSeconds: 0 } });
    this.#service = service;
    service.on('data', (_lsn: string, message: PgoutputMessage) => this.#onMessage(message));
    service.on('heartbeat', (lsn: string, _at: number, mustReply: boolean) => this.#options.onKeepalive(lsn, mustReply, this.#inTransaction));
    await new Promise<void>((resolve, reject) => {
      service.on('error', (error: Error) => (this.#stopped ? resolve() : reject(error)));
      const plugin = new PgoutputPlugin({ protoVersion: 1, publicationNames: [this.#options.publication] });
      service.subscribe(plugin, this.#options.slot).then(
        () => resolve(),
        (error: unknown) => (this.#stopped ? resolve() : reject(error)),
      );
    });
  }

  /**
   * Confirms (flushes) the slot up to `lsn`, a position just past what was settled (a commit's
   * end LSN, a keepalive's position): the server may recycle the WAL before it, and skips
   * transactions whose commit record starts before it on a restart.
   */
  confirm(lsn: string): void {
    // The package reports its argument + 1 (it expects the last byte received). Passing the
    // commit end itself confirmed one byte too far: a concurrent transaction whose commit
    // record starts right at that end was skipped after a restart (lost, seen in the
    // SIGKILL scenario).
    void this.#service?.acknowledge(previousLsn(lsn));
  }

  /** Stops reading from the socket (the server's send buffer fills and it waits). */
  pause(): void {
    this.#socket()?.pause?.();
  }

  resume(): void {
    this.#socket()?.resume?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#service?.destroy();
  }

  // The package pauses the same socket for its own flow control.
  #socket(): { pause?(): void; resume?(): void } | undefined {
    return (this.#service as unknown as { _connection?: { stream?: { pause?(): void; resume?(): void } } } | null)?._connection?.stream;
  }

  #onMessage(message: PgoutputMessage): void {
    switch (message.tag) {
      case 'begin':
        this.#inTransaction = true;
        return;
      case 'insert':
        if (message.relation.schema !== this.#options.schema || message.relation.name !== this.#options.table) return;
        this.#options.onItem({ kind: 'event', event: eventOf(message.new) });
        return;
      case 'commit':
        this.#inTransaction = false;
        if (message.commitEndLsn !== null) this.#options.onItem({ kind: 'commit', lsn: message.commitEndLsn });
        return;
    }
  }
}

/** The position one byte before `lsn`. */
export function previousLsn(lsn: string): string {
  const position = BigInt(lsnToNumber(lsn));
  const before = position > 0n ? position - 1n : 0n;
  return `${(before >> 32n).toString(16).toUpperCase()}/${(before & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

/** The subset of pgoutput messages the reader looks at. */
type PgoutputMessage =
  | { readonly tag: 'begin' }
  | { readonly tag: 'insert'; readonly relation: { readonly schema: string; readonly name: string }; readonly new: Record<string, unknown> }
  | { readonly tag: 'commit'; readonly commitEndLsn: string | null }
  | { readonly tag: 'relation' | 'type' | 'origin' | 'update' | 'delete' | 'truncate' | 'message' };

/**
 * An inserted events row as pgoutput carries it, parsed by pg's type parsers: jsonb as its JSON
 * value, bigint as text, timestamptz as a Date. Every column of the row is there (an INSERT has
 * no unchanged TOAST values).
 */
export function eventOf(row: Record<string, unknown>): StoredEvent {
  return Object.freeze({
    id: row.id as string,
    aggregateType: row.aggregate_type as string,
    aggregateId: row.aggregate_id as string,
    type: row.type as string,
    payload: row.payload as StoredEvent['payload'],
    headers: Object.freeze({ ...((row.headers ?? {}) as Record<string, string>) }),
    occurredAt: toDate(row.occurred_at),
    destination: (row.destination ?? null) as string | null,
    expiresAt: row.expires_at === null || row.expires_at === undefined ? null : toDate(row.expires_at),
    shard: toNumber(row.shard),
    sequence: toNumber(row.sequence),
    position: toNumber(row.position),
    attempts: toNumber(row.attempts),
  });
}
