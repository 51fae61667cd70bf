import {
  CircuitBreaker,
  countDecisions,
  logicalReaderOwner,
  lsnToNumber,
  normalizeRelayOptions,
  OutboxConfigError,
  OutboxError,
  publishBatch,
  SHARD_COUNT,
  settleFenced,
  silentLogger,
  type Lease,
  type LeaseStore,
  type LogicalReader,
  type LogicalReaderOptions,
  type LogicalSlotStatus,
  type Publisher,
  type PublishOutcome,
  type RelayHealth,
  type RelayLogger,
  type RelayObserver,
  type RelayStore,
  type ResolvedRelayOptions,
  type Settlement,
  type SqlDatabase,
  type StoredEvent,
} from '@outboxkit/core';
import { ChangeStream, type StreamItem } from './change-stream.js';
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

const ALL_SHARDS = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);
const BREAKER_INITIAL_MS = 500;
const BREAKER_MAX_MS = 30_000;
const SETTLE_ATTEMPTS = 4;
/** Buffered events above which the socket is paused: a few batches ahead of the publisher. */
const BUFFERED_BATCHES = 4;

/**
 * The PostgreSQL logical-replication source of `outbox-relay run --source logical`.
 *
 * One reader is active per slot: it holds EVERY shard lease (the stream carries all shards'
 * events in commit order, so it cannot be split), the others stand by and take the leases
 * when they expire. PostgreSQL itself refuses a second walsender on a slot; the leases add
 * fencing: a reader that lost its leases (paused past its TTL) has its marks refused by the
 * same fenced settle transaction the polling relay uses, and never confirms the LSN again,
 * because the new reader terminates its walsender before streaming.
 *
 * Committed inserts arrive in commit order; they are published in batches through core's
 * {@link publishInAggregateOrder} (per-aggregate chains, confirms), settled with
 * {@link settleFenced} (rows moved to history or deleted: the table stays small), and only then
 * is the slot confirmed up to the last transaction whose events were ALL settled. A crash
 * re-reads from the confirmed LSN: duplicates, never a gap. A batch is retried (transient
 * failures with the breaker's backoff, permanent ones after their retry delay) until every
 * event of it is acked or quarantined, so nothing later in the stream overtakes it.
 */
export class PostgresLogicalReader implements LogicalReader {
  readonly id: string;
  readonly #owner: string;
  readonly #options: ResolvedRelayOptions;
  readonly #url: string;
  readonly #names: ResolvedLogicalNames;
  readonly #schema: string;
  readonly #table: string;
  readonly #dialect: RelayStore & LeaseStore;
  readonly #db: SqlDatabase;
  readonly #publisher: Publisher;
  readonly #logger: RelayLogger;
  readonly #observer: RelayObserver;
  readonly #breaker = new CircuitBreaker(BREAKER_INITIAL_MS, BREAKER_MAX_MS);
  #state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  #loopDone: Promise<void> = Promise.resolve();
  #leases: Lease[] = [];
  #stream: ChangeStream | null = null;
  #buffer: StreamItem[] = [];
  #bufferedEvents = 0;
  #paused = false;
  #publishing = false;
  /** The LSN the slot was last confirmed to by this reader. */
  #confirmed = '0/0';
  #lastTick: Date | null = null;
  #slot: LogicalSlotStatus | null = null;
  #wake: () => void = () => undefined;

  constructor(options: PostgresLogicalReaderOptions) {
    if (options.poisonPolicy === 'park') {
      throw new OutboxConfigError(
        'poisonPolicy',
        "'park' is not available with the logical source: holding back a parked aggregate's later events needs the polling claim's look-up; use 'dead-letter' (--poison-policy dead-letter) or --source poll",
      );
    }
    this.#options = normalizeRelayOptions({ ...options, poisonPolicy: 'dead-letter' });
    this.id = this.#options.relayId;
    this.#owner = logicalReaderOwner(this.id);
    this.#url = options.url;
    this.#names = options.names;
    this.#schema = options.dialect.tables.schema ?? 'public';
    this.#table = options.dialect.tables.names.events;
    this.#dialect = options.dialect;
    this.#db = options.database;
    this.#publisher = options.publisher;
    this.#logger = options.logger ?? silentLogger;
    this.#observer = options.observer ?? {};
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new OutboxError('OUTBOX_RELAY_STATE', `logical reader ${this.id} was already started`);
    await requireLogicalWal(this.#db);
    this.#slot = await readSlotStatus(this.#db, this.#names.slot, this.#dialect.tables);
    if (this.#slot === null) {
      throw new OutboxError(
        'OUTBOX_LOGICAL_SETUP',
        `replication slot ${this.#names.slot} does not exist; create it and the publication with \`outbox-relay setup-logical\` (idempotent), then start again`,
      );
    }
    this.#state = 'running';
    this.#loopDone = this.#loop();
    this.#logger.info({ relayId: this.id, slot: this.#names.slot, publication: this.#names.publication }, 'logical reader started');
  }

  async stop(): Promise<void> {
    if (this.#state !== 'running') return;
    this.#state = 'stopping';
    this.#wake();
    await this.#loopDone;
    this.#state = 'stopped';
    this.#logger.info({ relayId: this.id }, 'logical reader stopped');
  }

  health(): RelayHealth {
    return {
      relayId: this.id,
      running: this.#state === 'running',
      ownedShards: this.#leases.map((lease) => lease.shard),
      breakerOpen: this.#breaker.remainingMs() > 0,
      publisherConnected: this.#publisher.isConnected(),
      lastPollAt: this.#lastTick,
      configurationError: null,
    };
  }

  slotStatus(): LogicalSlotStatus | null {
    return this.#slot;
  }

  get #tickMs(): number {
    return Math.max(100, Math.floor(this.#options.leaseTtlMs / 3));
  }

  async #loop(): Promise<void> {
    while (this.#state === 'running') {
      try {
        if (await this.#takeRole()) await this.#lead();
        else await this.#idle(this.#tickMs * (0.5 + Math.random()));
      } catch (error) {
        this.#reportError('cycle', error);
        await this.#idle(1000);
      }
    }
    await this.#giveUpRole();
  }

  /** All shards or none: a reader with some of them could not publish the stream in order. */
  async #takeRole(): Promise<boolean> {
    this.#lastTick = new Date();
    await this.#sampleSlot();
    const taken = await this.#dialect.acquire(this.#db, this.#owner, ALL_SHARDS, this.#options.leaseTtlMs);
    if (taken.length === SHARD_COUNT) {
      this.#leases = taken;
      this.#observer.shards?.(ALL_SHARDS);
      return true;
    }
    if (taken.length > 0)
      await this.#dialect.release(
        this.#db,
        this.#owner,
        taken.map((lease) => lease.shard),
      );
    return false;
  }

  async #giveUpRole(): Promise<void> {
    const held = this.#leases;
    this.#leases = [];
    this.#observer.shards?.([]);
    if (held.length === 0) return;
    try {
      await this.#dialect.release(this.#db, this.#owner, ALL_SHARDS);
    } catch (error) {
      this.#reportError('leave', error);
    }
  }

  /** The active reader's life: stream, publish and confirm until stopped, fenced or disconnected. */
  async #lead(): Promise<void> {
    // The leases are ours, so a walsender still on the slot belongs to a reader that lost them
    // (paused, partitioned): end it, or PostgreSQL refuses this stream and it could confirm the LSN.
    await this.#db.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL', [
      this.#names.slot,
    ]);
    this.#confirmed = (await readSlotStatus(this.#db, this.#names.slot, this.#dialect.tables))?.confirmedLsn ?? '0/0';
    this.#buffer = [];
    this.#bufferedEvents = 0;
    this.#paused = false;
    this.#logger.info({ relayId: this.id, slot: this.#names.slot, confirmedLsn: this.#confirmed }, 'logical reader active: streaming from the slot');
    const stream = new ChangeStream({
      url: this.#url,
      slot: this.#names.slot,
      publication: this.#names.publication,
      schema: this.#schema,
      table: this.#table,
      onItem: (item) => this.#onItem(item),
      onKeepalive: (lsn, mustReply, inTransaction) => this.#onKeepalive(lsn, mustReply, inTransaction),
    });
    this.#stream = stream;
    let ended: unknown = null;
    const streaming = stream.run().then(
      () => {
        ended ??= 'stream ended';
      },
      (error: unknown) => {
        ended ??= error;
      },
    );
    void streaming.finally(() => this.#wake());
    const renewing = setInterval(() => void this.#renew(), this.#tickMs);
    try {
      while (this.#state === 'running' && ended === null && this.#leases.length === SHARD_COUNT) {
        this.#lastTick = new Date();
        const batch = this.#takeBatch();
        if (batch.length === 0) {
          await this.#idle(this.#tickMs);
          continue;
        }
        if (!(await this.#publishUntilSettled(batch))) break;
      }
    } finally {
      clearInterval(renewing);
      this.#stream = null;
      await stream.stop();
      await streaming;
      this.#buffer = [];
      this.#bufferedEvents = 0;
    }
    if (ended !== null && this.#state === 'running') {
      // The connection failed (server restart, slot in use or invalidated): not at once again.
      this.#reportError('cycle', ended);
      await this.#idle(1000);
    }
    if (this.#leases.length < SHARD_COUNT && this.#state === 'running') {
      this.#logger.warn({ relayId: this.id }, 'logical reader lost its leases: standing by; the new reader re-reads from the confirmed LSN');
      this.#leases = [];
      this.#observer.shards?.([]);
    }
  }

  #onItem(item: StreamItem): void {
    this.#buffer.push(item);
    if (item.kind === 'event') this.#bufferedEvents++;
    if (!this.#paused && this.#bufferedEvents >= this.#options.batchSize * BUFFERED_BATCHES) {
      this.#paused = true;
      this.#stream?.pause();
    }
    this.#wake();
  }

  /**
   * Keepalives carry how far the server has sent. With nothing buffered, nothing in flight and
   * no transaction half-received, everything before that point is settled: confirming it lets
   * the server recycle WAL of unrelated tables (otherwise a quiet outbox in a busy database
   * would hold WAL forever). Otherwise a requested reply repeats the last confirmed LSN.
   */
  #onKeepalive(lsn: string, mustReply: boolean, inTransaction: boolean): void {
    const idle = this.#buffer.length === 0 && !this.#publishing && !inTransaction;
    if (idle && lsnToNumber(lsn) > lsnToNumber(this.#confirmed)) this.#confirm(lsn);
    else if (mustReply) this.#stream?.confirm(this.#confirmed);
  }

  #confirm(lsn: string): void {
    this.#confirmed = lsn;
    this.#stream?.confirm(lsn);
  }

  /** Up to batchSize events from the head of the buffer, with the commit marks among and right after them. */
  #takeBatch(): StreamItem[] {
    let events = 0;
    let end = 0;
    for (; end < this.#buffer.length; end++) {
      const item = this.#buffer[end]!;
      if (item.kind === 'event') {
        if (events === this.#options.batchSize) break;
        events++;
      }
    }
    const batch = this.#buffer.splice(0, end);
    this.#bufferedEvents -= events;
    if (this.#paused && this.#bufferedEvents < this.#options.batchSize) {
      this.#paused = false;
      this.#stream?.resume();
    }
    return batch;
  }

  /**
   * Publishes and settles `batch` until each of its events is acked or quarantined, then confirms
   * the slot up to its last commit. False when the leases were lost (the batch is left to the
   * next reader, which re-reads it from the slot).
   */
  async #publishUntilSettled(batch: readonly StreamItem[]): Promise<boolean> {
    this.#publishing = true;
    try {
      let pending = batch.flatMap((item) => (item.kind === 'event' ? [item.event] : []));
      for (let attempt = 0; pending.length > 0; attempt++) {
        if (this.#leases.length < SHARD_COUNT) return false;
        // Stopping: the batch got its attempt; what is left is re-read by the next reader.
        if (attempt > 0 && this.#state !== 'running') return false;
        const waitMs = this.#breaker.remainingMs();
        if (waitMs > 0) {
          await this.#idle(waitMs);
          continue;
        }
        const outcome = await this.#publish(pending);
        const settlement = await this.#settle(outcome);
        if (settlement.lostShards.length > 0) {
          this.#logger.warn(
            { relayId: this.id, shards: settlement.lostShards.length, events: countDecisions(settlement).fenced },
            'lease lost: marks refused, the new reader publishes these events',
          );
          this.#leases = [];
          return false;
        }
        this.#report(settlement);
        pending = remaining(pending, settlement);
        if (outcome.transient !== null) this.#openBreaker(outcome.transient.cause);
        else if (this.#breaker.isTripped) this.#closeBreaker();
        const retryInMs = Math.min(...settlement.decisions.map((decision) => (decision.action === 'fail' ? decision.retryInMs : Number.POSITIVE_INFINITY)));
        if (pending.length > 0 && outcome.transient === null && Number.isFinite(retryInMs)) await this.#idle(retryInMs);
      }
      const lastCommit = batch.findLast((item) => item.kind === 'commit');
      if (lastCommit?.kind === 'commit') this.#confirm(lastCommit.lsn);
      return true;
    } finally {
      this.#publishing = false;
    }
  }

  #publish(events: readonly StoredEvent[]): Promise<PublishOutcome> {
    return publishBatch(this.#publisher, events, this.#options.maxInFlight, this.#observer);
  }

  /** Retried on database errors so a blip does not turn confirmed events into duplicates. */
  async #settle(outcome: PublishOutcome): Promise<Settlement> {
    if (outcome.confirmed.length === 0 && outcome.failures.length === 0 && outcome.expired.length === 0) return { decisions: [], lostShards: [] };
    for (let attempt = 1; ; attempt++) {
      try {
        return await settleFenced(this.#dialect, this.#db, this.#owner, this.#leases, outcome, this.#options);
      } catch (error) {
        this.#reportError('ack', error);
        if (attempt >= SETTLE_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  #report(settlement: Settlement): void {
    const counts = countDecisions(settlement);
    if (counts.ack > 0) this.#observer.acked?.(counts.ack);
    for (const decision of settlement.decisions) {
      if (decision.action === 'fail') {
        this.#logger.warn({ relayId: this.id, eventId: decision.event.id, reason: decision.reason }, 'event failed to publish; retried after its backoff');
      } else if (decision.action === 'quarantine') {
        this.#observer.quarantined?.(decision.event, decision.reason, decision.status);
        if (decision.cause === 'expired') this.#observer.expired?.(decision.event, decision.status);
        this.#logger.warn(
          { relayId: this.id, eventId: decision.event.id, reason: decision.reason },
          'event quarantined (dead-lettered); its aggregate continues',
        );
      }
    }
  }

  async #renew(): Promise<void> {
    try {
      const held = await this.#dialect.renew(this.#db, this.#owner, this.#leases, this.#options.leaseTtlMs);
      if (held.length < SHARD_COUNT && this.#leases.length === SHARD_COUNT) {
        this.#leases = [];
        this.#wake();
      }
      await this.#sampleSlot();
    } catch (error) {
      this.#reportError('lease', error);
    }
  }

  async #sampleSlot(): Promise<void> {
    try {
      this.#slot = await readSlotStatus(this.#db, this.#names.slot, this.#dialect.tables);
    } catch (error) {
      this.#reportError('other', error);
    }
  }

  #openBreaker(cause: unknown): void {
    const wasOpen = this.#breaker.isTripped;
    this.#breaker.trip();
    this.#observer.breaker?.(true);
    if (!wasOpen) this.#logger.warn({ relayId: this.id, err: describe(cause) }, 'broker unavailable: circuit open, the batch is retried with backoff');
  }

  #closeBreaker(): void {
    this.#breaker.reset();
    this.#observer.breaker?.(false);
    this.#logger.info({ relayId: this.id }, 'broker healthy again: circuit closed');
  }

  /** Waits `ms`, cut short by new stream items, a lost lease, the stream's end or stop(). */
  #idle(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#wake = done;
    });
  }

  #reportError(phase: string, error: unknown): void {
    this.#observer.error?.(phase, error);
    this.#logger.error({ relayId: this.id, phase, err: describe(error) }, `logical reader ${phase} failed; retrying`);
  }
}

/** The events still to publish after `settlement`: failed ones with their attempt counted, and those never tried, in stream order. */
function remaining(events: readonly StoredEvent[], settlement: Settlement): StoredEvent[] {
  const done = new Set<string>();
  const failed = new Set<string>();
  for (const decision of settlement.decisions) {
    if (decision.action === 'fail') failed.add(decision.event.id);
    else done.add(decision.event.id);
  }
  return events
    .filter((event) => !done.has(event.id))
    .map((event) => (failed.has(event.id) ? Object.freeze({ ...event, attempts: event.attempts + 1 }) : event));
}

function describe(error: unknown): { message: string } {
  return { message: error instanceof Error ? error.message : String(error) };
}
