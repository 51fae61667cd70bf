import {
  deleteInBatches,
  inboxOperationsOf,
  OutboxConfigError,
  parseDuration,
  parseTimeFlag,
  RELAY_DEFAULTS,
  relaySessionLimits,
  replayHistory,
  resolveQuarantined,
  storableText,
  type Dialect,
  type HistoryEvent,
  type HistoryQuery,
  type OutboxStatus,
  type Publisher,
  type QuarantineEntry,
  type ReplayProgress,
  type ReplayResult,
  type SqlDatabase,
  type TableOptions,
} from '@outboxkit/core';
import { createBrokerPublisher, type BrokerFlags } from '../brokers.js';
import { openDatabase } from '../connect.js';
import { judgeHealth, normalizeThresholds, type HealthReport, type HealthThresholds } from './health.js';

export interface OutboxAdminOptions {
  /**
   * The outbox's database: a URL as `outbox-relay` takes it (`postgres://`, `mysql://`,
   * `mariadb://`, `sqlite:`), opened and closed by the admin; or a database you opened (a dialect
   * and its pool, e.g. `{ dialect: createPostgresDialect(), database: pgDatabase(pool) }`), which
   * `close()` leaves open.
   */
  readonly database: string | { readonly dialect: Dialect; readonly database: SqlDatabase };
  /** With a URL: the schema / table prefix of the outbox tables, as `--schema` / `--table-prefix`. */
  readonly tables?: TableOptions;
  /**
   * Where `replay` and `reconcile({ replay: true })` publish: a publisher you own (never closed
   * here), or the broker settings of `outbox-relay run` (`{ brokerUrl: 'nats://...', subjectPrefix }`),
   * for which each call opens a publisher and closes it afterwards.
   * @default { brokerUrl: 'amqp://guest:guest@127.0.0.1:5672' }
   */
  readonly broker?: Publisher | BrokerFlags;
}

/** When an event went: a Date, an ISO-8601 text, or a duration ago (`'2h'`, `'30m ago'`) on the database clock. */
export type TimeBound = Date | string;

export interface ReplaySelection {
  readonly ids?: readonly string[];
  readonly aggregate?: { readonly type: string; readonly id: string };
  readonly since?: TimeBound;
  readonly until?: TimeBound;
}

export interface ReplayRunOptions {
  /** List (through `onEvent`) and send nothing. */
  readonly dryRun?: boolean;
  /** Send every event here instead of its own destination (in the broker's terms). */
  readonly destination?: string;
  /** @default 500 */
  readonly pageSize?: number;
  /** @default 64 */
  readonly maxInFlight?: number;
  readonly onEvent?: (event: HistoryEvent) => void;
  readonly onProgress?: (progress: ReplayProgress) => void;
}

export interface AdminReplayResult extends ReplayResult {
  /** Ids asked for (`ids`) that are not in the history table. */
  readonly notInHistory: readonly string[];
}

export interface ReconcileOptions {
  /** The consumer name its inbox rows are recorded under. */
  readonly consumer: string;
  readonly since: TimeBound;
  readonly until?: TimeBound;
  /** The ids the consumer processed, when its inbox is not in this database. */
  readonly processedIds?: ReadonlySet<string>;
  /** Re-publish exactly the missing events, with their original ids. */
  readonly replay?: boolean;
  readonly pageSize?: number;
  readonly maxInFlight?: number;
  readonly onMissing?: (event: HistoryEvent) => void;
  readonly onProgress?: (progress: ReplayProgress) => void;
}

export interface ReconcileResult {
  /** History rows in the window. */
  readonly checked: number;
  /** Ids the consumer never recorded, in position order. */
  readonly missing: readonly string[];
  /** Of those, how many were re-published. */
  readonly replayed: number;
  readonly since: Date;
  readonly until: Date | undefined;
  /** The first publish failure of a replay; it stopped there. */
  readonly failure: ReplayResult['failure'];
}

export interface CleanupOptions {
  /** Keep published history this long: milliseconds, a duration (`'7d'`), or null to keep it all. @default '7d' */
  readonly historyRetention?: number | string | null;
  /** Keep inbox rows this long (longer than the history). @default '14d' */
  readonly inboxRetention?: number | string | null;
  /** Rows deleted per statement / transaction. @default 1000 */
  readonly batchSize?: number;
  readonly onProgress?: (table: 'history' | 'inbox', deletedSoFar: number) => void;
}

export interface CleanupResult {
  readonly historyDeleted: number;
  /** Null when inbox cleanup was off or the dialect has no inbox. */
  readonly inboxDeleted: number | null;
  readonly historyCutoff: Date | null;
  readonly inboxCutoff: Date | null;
  /** Things worth telling whoever runs it. */
  readonly warnings: readonly CleanupWarning[];
}

export interface CleanupWarning {
  /** `inbox-retention-shorter`: replayed events older than the inbox retention would be applied again; `no-inbox`: the dialect has no inbox here. */
  readonly kind: 'inbox-retention-shorter' | 'no-inbox';
  readonly message: string;
}

export interface QuarantineResolution {
  /** Who decided; stored with the quarantine row. */
  readonly by: string;
  /** Why; stored with the quarantine row (required to skip). */
  readonly reason?: string;
}

export interface ResolvedQuarantine {
  readonly id: string;
  readonly outcome: 'done' | 'already-resolved' | 'not-quarantined';
  /** The row's status after the call (or before it, when it was already resolved). */
  readonly status: QuarantineEntry['status'] | null;
}

/**
 * Everything `outbox-relay` does to a running outbox, from code: a service mounts it in its
 * admin endpoints or health checks. The CLI's operations commands are a thin layer over it.
 */
export interface OutboxAdmin {
  status(): Promise<OutboxStatus>;
  /** ok / degraded / failed with reasons; a database that cannot be read is `failed`, not an exception. */
  health(thresholds?: HealthThresholds): Promise<HealthReport>;
  /** Applies pending migrations; the versions applied. */
  migrate(): Promise<number[]>;
  listQuarantine(options?: { includeResolved?: boolean; limit?: number }): Promise<QuarantineEntry[]>;
  /**
   * Back into the pending table at their original positions; their aggregates un-park. One
   * transaction per id. An event past its `expiresAt` is quarantined again by the relay (reason
   * `expired`) unless `ignoreExpiry`, which clears its expiry so it is published however late.
   */
  retryQuarantined(ids: readonly string[], resolution: QuarantineResolution & { readonly ignoreExpiry?: boolean }): Promise<ResolvedQuarantine[]>;
  /** Dropped for good; their aggregates continue without them. One transaction per id. */
  skipQuarantined(ids: readonly string[], resolution: QuarantineResolution & { readonly reason: string }): Promise<ResolvedQuarantine[]>;
  replay(selection: ReplaySelection, options?: ReplayRunOptions): Promise<AdminReplayResult>;
  reconcile(options: ReconcileOptions): Promise<ReconcileResult>;
  cleanup(options?: CleanupOptions): Promise<CleanupResult>;
  /** Closes what the admin opened (the database of a URL); a database or publisher you passed stays open. */
  close(): Promise<void>;
}

export const ADMIN_DEFAULTS = Object.freeze({
  pageSize: 500,
  maxInFlight: 64,
  quarantineLimit: 1000,
  historyRetention: '7d',
  inboxRetention: '14d',
  cleanupBatchSize: 1000,
});

/** The session limits of a relay with the default lease (docs/operations.md, "Session limits"). */
const OPERATOR_SESSION_LIMITS = relaySessionLimits(RELAY_DEFAULTS.leaseTtlMs);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_NAME = 255;

/**
 * Opens the admin API on an outbox database.
 *
 * @example
 * const admin = await createOutboxAdmin({ database: process.env.OUTBOX_DATABASE_URL! });
 * const health = await admin.health({ maxOldestPendingAgeMs: 60_000, maxQuarantined: 0 });
 * if (health.status !== 'ok') console.warn(health.reasons.join('; '));
 * await admin.close();
 */
export async function createOutboxAdmin(options: OutboxAdminOptions): Promise<OutboxAdmin> {
  if (options === null || typeof options !== 'object' || options.database === undefined) {
    throw new OutboxConfigError('database', 'is required: a database URL (postgres://, mysql://, sqlite:...) or { dialect, database }');
  }
  if (typeof options.database === 'string') {
    // Cleanup and quarantine resolution lock rows: a caller paused mid-transaction (a suspended
    // terminal, a GC pause) may not hold the relays back for longer than a lease.
    const target = await openDatabase(options.database, { tables: options.tables ?? {}, sessionLimits: OPERATOR_SESSION_LIMITS });
    return new Admin(target.dialect, target.database, options.broker, () => target.database.close());
  }
  if (options.tables !== undefined) {
    throw new OutboxConfigError('tables', 'applies to a database URL only; an open database brings its dialect, configure the tables there');
  }
  return new Admin(options.database.dialect, options.database.database, options.broker, async () => undefined);
}

class Admin implements OutboxAdmin {
  constructor(
    private readonly dialect: Dialect,
    private readonly db: SqlDatabase,
    private readonly broker: Publisher | BrokerFlags | undefined,
    private readonly closeDatabase: () => Promise<void>,
  ) {}

  status(): Promise<OutboxStatus> {
    return this.dialect.status(this.db);
  }

  async health(thresholds?: HealthThresholds): Promise<HealthReport> {
    const checked = normalizeThresholds(thresholds);
    let outbox: OutboxStatus;
    try {
      outbox = await this.status();
    } catch (error) {
      return { status: 'failed', reasons: [`cannot read the outbox: ${error instanceof Error ? error.message : String(error)}`], outbox: null };
    }
    return judgeHealth(outbox, checked);
  }

  migrate(): Promise<number[]> {
    return this.dialect.migrate(this.db);
  }

  async listQuarantine(options: { includeResolved?: boolean; limit?: number } = {}): Promise<QuarantineEntry[]> {
    const limit = integerIn(options.limit, 'limit', ADMIN_DEFAULTS.quarantineLimit, 1, 100_000);
    return this.dialect.listQuarantine(this.db, { includeResolved: options.includeResolved === true, limit });
  }

  async retryQuarantined(ids: readonly string[], resolution: QuarantineResolution & { readonly ignoreExpiry?: boolean }): Promise<ResolvedQuarantine[]> {
    const ignoreExpiry = resolution?.ignoreExpiry ?? false;
    if (typeof ignoreExpiry !== 'boolean') throw new OutboxConfigError('ignoreExpiry', `must be true or false, got ${typeof ignoreExpiry}`);
    return this.resolve('retried', ids, resolution, ignoreExpiry);
  }

  async skipQuarantined(ids: readonly string[], resolution: QuarantineResolution & { readonly reason: string }): Promise<ResolvedQuarantine[]> {
    if (typeof resolution?.reason !== 'string' || resolution.reason.trim() === '') {
      throw new OutboxConfigError('reason', 'is required for skip: say why the event may be dropped (it is stored with the quarantine row)');
    }
    return this.resolve('skipped', ids, resolution);
  }

  private async resolve(
    status: 'retried' | 'skipped',
    rawIds: readonly string[],
    resolution: QuarantineResolution,
    ignoreExpiry = false,
  ): Promise<ResolvedQuarantine[]> {
    const ids = eventIds(rawIds, 'ids');
    const by = nameOption(resolution?.by, 'by');
    const note = resolution.reason === undefined ? null : storableText(resolution.reason.trim()) || null;
    const results: ResolvedQuarantine[] = [];
    for (const id of ids) {
      // One short transaction per event: a failure leaves the others as they were decided.
      const result = await this.db.transaction((tx) => resolveQuarantined(this.dialect, tx, id, status, { by, note }, { ignoreExpiry }));
      if (result.outcome === 'done') results.push({ id, outcome: 'done', status });
      else if (result.outcome === 'already-resolved') results.push({ id, outcome: 'already-resolved', status: result.status });
      else results.push({ id, outcome: 'not-quarantined', status: null });
    }
    return results;
  }

  async replay(selection: ReplaySelection, options: ReplayRunOptions = {}): Promise<AdminReplayResult> {
    const ids = selection.ids === undefined ? undefined : eventIds(selection.ids, 'ids');
    const aggregate = selection.aggregate === undefined ? undefined : aggregateOption(selection.aggregate);
    if (ids === undefined && aggregate === undefined && selection.since === undefined) {
      throw new OutboxConfigError('ids/aggregate/since', 'say what to replay: ids, an aggregate or a since time (they combine)');
    }
    const destination = options.destination === undefined ? undefined : nameOption(options.destination, 'destination');
    const pageSize = integerIn(options.pageSize, 'pageSize', ADMIN_DEFAULTS.pageSize, 1, 10_000);
    const maxInFlight = integerIn(options.maxInFlight, 'maxInFlight', ADMIN_DEFAULTS.maxInFlight, 1, 10_000);
    const window = await this.window(selection.since, selection.until);
    const query: Omit<HistoryQuery, 'afterPosition'> = { ...(ids ? { ids } : {}), ...(aggregate ? { aggregate } : {}), ...window };
    const found = new Set<string>();
    const result = await this.withPublisher(options.dryRun !== true, (publisher) =>
      replayHistory({
        dialect: this.dialect,
        database: this.db,
        publisher,
        query,
        pageSize,
        maxInFlight,
        ...(destination ? { transform: (event: HistoryEvent) => ({ ...event, destination }) } : {}),
        onEvent(event) {
          found.add(event.id);
          options.onEvent?.(event);
        },
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      }),
    );
    return { ...result, notInHistory: (ids ?? []).filter((id) => !found.has(id)) };
  }

  async reconcile(options: ReconcileOptions): Promise<ReconcileResult> {
    if (options?.consumer === undefined) throw new OutboxConfigError('consumer', 'is required: the consumer name its inbox rows are recorded under');
    const consumer = nameOption(options.consumer, 'consumer');
    if (options.since === undefined) throw new OutboxConfigError('since', 'is required: the start of the window to check, e.g. 2h or 2026-11-26T10:00:00Z');
    const pageSize = integerIn(options.pageSize, 'pageSize', ADMIN_DEFAULTS.pageSize, 1, 10_000);
    const maxInFlight = integerIn(options.maxInFlight, 'maxInFlight', ADMIN_DEFAULTS.maxInFlight, 1, 10_000);
    const recorded = options.processedIds ?? null;
    const inbox = inboxOperationsOf(this.dialect);
    if (recorded === null && inbox === null) {
      throw new OutboxConfigError(
        'processedIds',
        `the ${this.dialect.name} dialect has no inbox table support here; pass the ids consumer "${consumer}" processed`,
      );
    }
    const window = await this.window(options.since, options.until);
    const missing: string[] = [];
    const select = async (page: HistoryEvent[]): Promise<HistoryEvent[]> => {
      const ids = page.map((event) => event.id);
      const seen = recorded ?? new Set(await inbox!.inboxContains(this.db, consumer, ids));
      return page.filter((event) => !seen.has(event.id));
    };
    const result = await this.withPublisher(options.replay === true, (publisher) =>
      replayHistory({
        dialect: this.dialect,
        database: this.db,
        publisher,
        query: window,
        pageSize,
        maxInFlight,
        select,
        onEvent(event) {
          missing.push(event.id);
          options.onMissing?.(event);
        },
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      }),
    );
    return { checked: result.read, missing, replayed: result.sent, since: window.since!, until: window.until, failure: result.failure };
  }

  async cleanup(options: CleanupOptions = {}): Promise<CleanupResult> {
    const historyMs = retentionOption(options.historyRetention, 'historyRetention', ADMIN_DEFAULTS.historyRetention);
    const inboxMs = retentionOption(options.inboxRetention, 'inboxRetention', ADMIN_DEFAULTS.inboxRetention);
    const batchSize = integerIn(options.batchSize, 'batchSize', ADMIN_DEFAULTS.cleanupBatchSize, 1, 100_000);
    const warnings: CleanupWarning[] = [];
    if (historyMs !== null && inboxMs !== null && inboxMs < historyMs) {
      // A replay can reach back as far as history is kept; inbox rows must outlive that or
      // replayed events look new to consumers and are applied twice.
      warnings.push({
        kind: 'inbox-retention-shorter',
        message: 'inboxRetention is shorter than historyRetention; events replayed from older history would be processed again by consumers',
      });
    }
    // Database clock: stored times are database times, whatever this machine's clock says.
    const now = await this.dialect.currentTime(this.db);
    let historyDeleted = 0;
    let historyCutoff: Date | null = null;
    if (historyMs !== null) {
      historyCutoff = new Date(now.getTime() - historyMs);
      const cutoff = historyCutoff;
      const result = await deleteInBatches(
        (limit) => this.dialect.deleteHistoryBefore(this.db, cutoff, limit),
        batchSize,
        (total) => options.onProgress?.('history', total),
      );
      historyDeleted = result.deleted;
    }
    let inboxDeleted: number | null = null;
    let inboxCutoff: Date | null = null;
    if (inboxMs !== null) {
      const inbox = inboxOperationsOf(this.dialect);
      if (inbox === null) {
        warnings.push({ kind: 'no-inbox', message: `the ${this.dialect.name} dialect has no inbox support here; inbox rows were not touched` });
      } else {
        inboxCutoff = new Date(now.getTime() - inboxMs);
        const cutoff = inboxCutoff;
        const result = await deleteInBatches(
          (limit) => inbox.deleteInboxBefore(this.db, cutoff, limit),
          batchSize,
          (total) => options.onProgress?.('inbox', total),
        );
        inboxDeleted = result.deleted;
      }
    }
    return { historyDeleted, inboxDeleted, historyCutoff, inboxCutoff, warnings };
  }

  close(): Promise<void> {
    return this.closeDatabase();
  }

  /** `since`/`until` as dates; durations count back from the database clock. */
  private async window(since: TimeBound | undefined, until: TimeBound | undefined): Promise<{ since?: Date; until?: Date }> {
    if (since === undefined && until === undefined) return {};
    const needsClock = typeof since === 'string' || typeof until === 'string';
    const clock = needsClock ? await this.dialect.currentTime(this.db) : new Date();
    const from = since === undefined ? undefined : timeOption(since, 'since', clock);
    const to = until === undefined ? undefined : timeOption(until, 'until', clock);
    if (from && to && to.getTime() <= from.getTime()) {
      throw new OutboxConfigError('until', `${to.toISOString()} is not after since ${from.toISOString()}; swap them or widen the window`);
    }
    return { ...(from ? { since: from } : {}), ...(to ? { until: to } : {}) };
  }

  /** Runs `work` with the configured publisher (or none), closing one it opened. */
  private async withPublisher<T>(needed: boolean, work: (publisher: Publisher | null) => Promise<T>): Promise<T> {
    if (!needed) return work(null);
    if (isPublisher(this.broker)) return work(this.broker);
    const publisher = await createBrokerPublisher(this.broker ?? {});
    try {
      return await work(publisher);
    } finally {
      await publisher.close();
    }
  }
}

function isPublisher(value: unknown): value is Publisher {
  return typeof (value as Publisher | undefined)?.publish === 'function';
}

/** Event ids as the writer stores them (lower-case UUIDs). */
export function eventIds(values: readonly string[], option: string): string[] {
  if (!Array.isArray(values)) throw new OutboxConfigError(option, 'must be a list of event ids');
  return values.map((value) => {
    const id = String(value).trim();
    if (!UUID.test(id)) {
      throw new OutboxConfigError(option, `${JSON.stringify(value)} is not an event id; event ids are UUIDs (see the quarantine list or the message's id)`);
    }
    return id.toLowerCase();
  });
}

/** A free-text value stored in a varchar(255) column (`by`, `destination`, `consumer`). */
export function nameOption(value: string | undefined, option: string): string {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '' || text.length > MAX_NAME) throw new OutboxConfigError(option, `must be 1-${MAX_NAME} characters, got ${text.length}`);
  return text;
}

function aggregateOption(aggregate: { readonly type: string; readonly id: string }): { type: string; id: string } {
  const { type, id } = aggregate ?? {};
  if (typeof type !== 'string' || typeof id !== 'string' || type === '' || id === '' || type.length > MAX_NAME || id.length > MAX_NAME) {
    throw new OutboxConfigError('aggregate', `must be { type, id } with 1-${MAX_NAME} characters each, e.g. { type: 'order', id: 'o-42' }`);
  }
  return { type, id };
}

/** An integer option with a range, named in the error. */
export function integerIn(value: number | undefined, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new OutboxConfigError(option, `must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

function timeOption(value: TimeBound, option: string, clock: Date): Date {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new OutboxConfigError(option, 'is an invalid Date');
    return value;
  }
  return parseTimeFlag(value, option, clock);
}

/** Milliseconds, or null for off (keep everything). */
function retentionOption(value: number | string | null | undefined, option: string, fallback: string): number | null {
  if (value === null) return null;
  if (value === undefined) return parseDuration(fallback, option);
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new OutboxConfigError(option, `must be milliseconds >= 0, a duration like '7d', or null, got ${value}`);
    return value;
  }
  return value.trim().toLowerCase() === 'off' ? null : parseDuration(value, option);
}
