import { OutboxConfigError, type ChangeSink, type ChangeStream, type JsonValue, type StoredEvent } from '@outboxkit/core';
import { toNumber } from '../mysql-rows.js';
import { formatPosition, type BinlogPosition } from './binlog-position.js';

/** The package and version the binlog source is tested with. */
export const ZONGJI_PACKAGE = '@vlasky/zongji';

/** The subset of `@vlasky/zongji`'s ZongJi the stream uses. */
interface ZongJiLike {
  on(event: 'binlog', listener: (event: BinlogEventLike) => void): this;
  on(event: 'error', listener: (error: Error) => void): this;
  on(event: 'stopped' | 'ready', listener: () => void): this;
  start(options: Record<string, unknown>): void;
  stop(): void;
  readonly options: { readonly filename?: string; readonly position?: number };
  readonly connection: { pause?(): void; resume?(): void } | null;
}
type ZongJiConstructor = new (connection: Record<string, unknown>) => ZongJiLike;

interface BinlogEventLike {
  getEventName(): string;
  readonly nextPosition: number;
  readonly tableId?: number;
  readonly tableMap?: Record<number, { readonly parentSchema: string; readonly tableName: string }>;
  readonly rows?: Record<string, unknown>[];
}

/**
 * Loads `@vlasky/zongji` when a binlog reader starts, not when `@outboxkit/mysql` is imported:
 * it is an optional peer dependency that only `--source logical` on MariaDB needs. A missing
 * package is a config error with the install line (`load` is the import, replaceable in tests).
 */
export async function loadZongJi(load: () => Promise<unknown> = () => import(ZONGJI_PACKAGE)): Promise<ZongJiConstructor> {
  try {
    const loaded = (await load()) as { default: ZongJiConstructor };
    return loaded.default;
  } catch (error) {
    const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
    if (code !== 'ERR_MODULE_NOT_FOUND' || typeof message !== 'string' || !message.includes(ZONGJI_PACKAGE)) throw error;
    throw new OutboxConfigError(
      '--source',
      `'logical' on MySQL/MariaDB reads the binary log with ${ZONGJI_PACKAGE}, which is not installed: npm install ${ZONGJI_PACKAGE}@0.9.0 (or use --source poll)`,
      { cause: error },
    );
  }
}

export interface BinlogStreamOptions {
  readonly ZongJi: ZongJiConstructor;
  /** mysql2 connection options of the server (host, port, user, password). */
  readonly connection: Record<string, unknown>;
  /** The replica id the binlog connection registers with; a second connection with the same id ends the first. */
  readonly serverId: number;
  readonly from: BinlogPosition;
  readonly schema: string;
  readonly table: string;
  readonly sink: ChangeSink;
}

/**
 * One binlog dump connection from a checkpoint, through `@vlasky/zongji`. The binlog holds each
 * transaction whole, in commit order; the events table's inserted rows are handed over as they
 * arrive, and the transaction's XID (its commit) as the position just past it. Commits of other
 * tables are keepalives: the checkpoint may move past them when nothing is unsettled.
 */
export class BinlogStream implements ChangeStream {
  readonly #options: BinlogStreamOptions;
  readonly #zongji: ZongJiLike;
  #inTransaction = false;
  #stopped = false;
  #ended: Promise<void> | null = null;

  constructor(options: BinlogStreamOptions) {
    this.#options = options;
    // UTC like the dialect's pool (DATETIME columns hold UTC); JSON columns arrive as text on MariaDB (LONGTEXT).
    this.#zongji = new options.ZongJi({ ...options.connection, timezone: 'Z', dateStrings: false });
    this.#zongji.on('binlog', (event) => this.#onEvent(event));
  }

  run(): Promise<void> {
    this.#ended ??= new Promise<void>((resolve, reject) => {
      this.#zongji.on('error', (error) => (this.#stopped ? resolve() : reject(error)));
      this.#zongji.on('stopped', () => resolve());
      this.#zongji.start({
        serverId: this.#options.serverId,
        filename: this.#options.from.file,
        position: this.#options.from.position,
        includeEvents: ['tablemap', 'writerows', 'xid'],
        includeSchema: { [this.#options.schema]: [this.#options.table] },
      });
    });
    return this.#ended;
  }

  pause(): void {
    this.#zongji.connection?.pause?.();
  }

  resume(): void {
    this.#zongji.connection?.resume?.();
  }

  /** The checkpoint is a database row, written in the settle transaction: nothing to tell the server. */
  confirm(): void {}

  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    const stopped = new Promise<void>((resolve) => this.#zongji.on('stopped', () => resolve()));
    this.#zongji.stop();
    await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 2000))]);
  }

  #onEvent(event: BinlogEventLike): void {
    if (this.#stopped) return;
    switch (event.getEventName()) {
      case 'writerows': {
        const table = event.tableId === undefined ? undefined : event.tableMap?.[event.tableId];
        if (table?.parentSchema !== this.#options.schema || table.tableName !== this.#options.table) return;
        this.#inTransaction = true;
        for (const row of event.rows ?? []) this.#options.sink.item({ kind: 'event', event: eventOf(row) });
        return;
      }
      case 'xid': {
        const file = this.#zongji.options.filename;
        if (file === undefined) return;
        const position = formatPosition({ file, position: event.nextPosition });
        if (this.#inTransaction) {
          this.#inTransaction = false;
          this.#options.sink.item({ kind: 'commit', position });
        } else this.#options.sink.keepalive(position, false, false);
        return;
      }
    }
  }
}

/** An inserted events row as the binlog carries it: JSON columns as text, DATETIME(3) as a UTC Date, integers as numbers. */
export function eventOf(row: Record<string, unknown>): StoredEvent {
  return Object.freeze({
    id: String(row.id),
    aggregateType: String(row.aggregate_type),
    aggregateId: String(row.aggregate_id),
    type: String(row.type),
    payload: json(row.payload) as JsonValue,
    headers: Object.freeze({ ...((json(row.headers) ?? {}) as Record<string, string>) }),
    occurredAt: toDate(row.occurred_at),
    destination: row.destination === null || row.destination === undefined ? null : String(row.destination),
    expiresAt: row.expires_at === null || row.expires_at === undefined ? null : toDate(row.expires_at),
    shard: toNumber(row.shard),
    sequence: toNumber(row.sequence),
    position: toNumber(row.position),
    attempts: toNumber(row.attempts ?? 0),
  });
}

function json(value: unknown): unknown {
  if (typeof value === 'string') return JSON.parse(value);
  if (Buffer.isBuffer(value)) return JSON.parse(value.toString('utf8'));
  return value ?? null;
}

function toDate(value: unknown): Date {
  return value instanceof Date ? value : new Date(String(value));
}
