import type { WriterDialect } from './dialect.js';
import { OutboxConfigError, OutboxError } from './errors.js';
import { integerOption } from './options.js';
import type { SqlExecutor } from './sql.js';

/**
 * A write was refused because the outbox already holds `maxBacklog` or more pending events
 * (the relay is behind, or the broker has been down for a while). Nothing was written; the
 * caller's transaction can roll back and the request fail fast instead of growing the table
 * without bound. `backlog` is the count the guard last read, `countedAt` when it read it.
 */
export class OutboxBacklogFullError extends OutboxError {
  readonly backlog: number;
  readonly maxBacklog: number;
  readonly countedAt: Date;
  constructor(backlog: number, maxBacklog: number, countedAt: Date) {
    super(
      'OUTBOX_BACKLOG_FULL',
      `outbox backlog is full: ${backlog} pending event(s) (counted at ${countedAt.toISOString()}), maxBacklog is ${maxBacklog}. ` +
        'The relay is behind or the broker is unreachable; the write was refused so the business transaction can roll back',
    );
    this.backlog = backlog;
    this.maxBacklog = maxBacklog;
    this.countedAt = countedAt;
  }
}

export interface BacklogGuardOptions {
  /** The outbox's dialect (its `countPending` is what is counted). */
  dialect: Pick<WriterDialect, 'countPending'>;
  /**
   * Writes fail with {@link OutboxBacklogFullError} once this many events are pending.
   * @example 100_000 // ~100 s of a 1k events/s writer while the broker is down
   */
  maxBacklog: number;
  /**
   * The pending count is re-read at most this often (per guard); writes in between use the cached
   * count, so a write pays a `count(*)` only once per interval. The limit can therefore be
   * overshot by about one interval of writes.
   * @default 1000
   */
  checkIntervalMs?: number;
  /** Clock, for tests. @default Date.now */
  now?: () => number;
}

/** A producer-side limit on the outbox backlog. Share one guard across all writers of a process. */
export interface BacklogGuard {
  readonly maxBacklog: number;
  readonly checkIntervalMs: number;
  /** The last count read, or null before the first. */
  readonly lastCount: number | null;
  /**
   * Throws {@link OutboxBacklogFullError} when the (cached, at most `checkIntervalMs` old)
   * backlog is at or above `maxBacklog`. Re-counts on `exec` when the cache is stale.
   */
  check(exec: SqlExecutor): Promise<void>;
}

const DEFAULT_CHECK_INTERVAL_MS = 1000;

/**
 * Creates a guard to pass to `writeEvents(..., { backlogGuard })`: while the broker is down the
 * database is the buffer, and this bounds it.
 *
 * @example
 * const backlogGuard = createBacklogGuard({ dialect, maxBacklog: 100_000 });
 * await pool.transaction((tx) => writeEvents(dialect, tx, event, { backlogGuard }));
 * // -> rejects with OutboxBacklogFullError (code OUTBOX_BACKLOG_FULL) while 100k are pending
 */
export function createBacklogGuard(options: BacklogGuardOptions): BacklogGuard {
  if (!options || typeof options.dialect?.countPending !== 'function') {
    throw new OutboxConfigError('dialect', 'is required: pass the outbox dialect, e.g. createPostgresDialect()');
  }
  if (options.maxBacklog === undefined) throw new OutboxConfigError('maxBacklog', 'is required: the pending-event count at which writes are refused');
  const maxBacklog = integerOption(options.maxBacklog, 'maxBacklog', 0, 1, Number.MAX_SAFE_INTEGER);
  const checkIntervalMs = integerOption(options.checkIntervalMs, 'checkIntervalMs', DEFAULT_CHECK_INTERVAL_MS, 0, 3_600_000);
  return new CachedBacklogGuard(options.dialect, maxBacklog, checkIntervalMs, options.now ?? Date.now);
}

class CachedBacklogGuard implements BacklogGuard {
  #count: number | null = null;
  #countedAt = 0;
  #refreshing: Promise<void> | null = null;

  constructor(
    private readonly dialect: Pick<WriterDialect, 'countPending'>,
    readonly maxBacklog: number,
    readonly checkIntervalMs: number,
    private readonly now: () => number,
  ) {}

  get lastCount(): number | null {
    return this.#count;
  }

  async check(exec: SqlExecutor): Promise<void> {
    if (this.#count === null || this.now() - this.#countedAt >= this.checkIntervalMs) {
      if (this.#refreshing === null) {
        // This writer counts on its own executor and waits: the executor (a transaction) may
        // end right after this call, so a count left running on it would outlive it.
        const refreshing = this.#refresh(exec);
        this.#refreshing = refreshing;
        try {
          await refreshing;
        } finally {
          this.#refreshing = null;
        }
      } else if (this.#count === null) {
        // Nothing cached yet: wait for the count in flight (another writer's), or count ourselves if it failed.
        await this.#refreshing.catch(() => this.#refresh(exec));
      }
      // Otherwise another writer is already re-counting: the cached figure is at most one count old.
    }
    const count = this.#count!;
    if (count >= this.maxBacklog) throw new OutboxBacklogFullError(count, this.maxBacklog, new Date(this.#countedAt));
  }

  async #refresh(exec: SqlExecutor): Promise<void> {
    const count = await this.dialect.countPending(exec);
    this.#count = count;
    this.#countedAt = this.now();
  }
}
