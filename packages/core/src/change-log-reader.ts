import { CircuitBreaker } from './backoff.js';
import type { Lease, LeaseStore, RelayStore } from './dialect.js';
import type { StoredEvent } from './envelope.js';
import { OutboxConfigError, OutboxError } from './errors.js';
import {
  logicalReaderOwner,
  type ChangeItem,
  type ChangeLog,
  type ChangeStream,
  type LogicalReader,
  type LogicalReaderOptions,
  type LogicalSlotStatus,
} from './logical-source.js';
import { silentLogger, type RelayLogger, type RelayObserver } from './observer.js';
import { publishBatch, type PublishOutcome } from './publish-batch.js';
import type { Publisher } from './publisher.js';
import type { RelayHealth } from './relay.js';
import { normalizeRelayOptions, type ResolvedRelayOptions } from './relay-options.js';
import { countDecisions, settleFenced, type Settlement } from './settlement.js';
import { SHARD_COUNT } from './shards.js';
import type { SqlDatabase, SqlExecutor } from './sql.js';

export interface ChangeLogReaderOptions extends LogicalReaderOptions {
  readonly dialect: RelayStore & LeaseStore;
  /** The relay's pool: settles, leases and status samples. */
  readonly database: SqlDatabase;
  /** The dialect's change log: its stream, its checkpoint, its status. */
  readonly log: ChangeLog;
}

const ALL_SHARDS = Array.from({ length: SHARD_COUNT }, (_, shard) => shard);
const BREAKER_INITIAL_MS = 500;
const BREAKER_MAX_MS = 30_000;
const SETTLE_ATTEMPTS = 4;
/** Settles rolled back while acked rows are not visible yet: 20 ms doubling, about 1.3 s in all. */
const VISIBILITY_LOOKS = 6;
/** Buffered events above which the socket is paused: a few batches ahead of the publisher. */
const BUFFERED_BATCHES = 4;
/**
 * How often at most a database checkpoint moves past other tables' commits by default: each move
 * is itself a commit in the log, and a binlog is purged after days, not seconds.
 */
const IDLE_CHECKPOINT_MS = 30_000;

/**
 * The source of `outbox-relay run --source logical`, whatever the database's change log
 * (PostgreSQL's `pgoutput` slot, MariaDB's row binlog: a {@link ChangeLog}).
 *
 * One reader is active per table: it holds EVERY shard lease, as owner `logical:<id>` (the log
 * carries all shards' events in commit order, so it cannot be split); the others stand by and
 * take the leases when they expire. The leases fence: a reader that lost them (paused past its
 * TTL) has its marks refused by the same fenced settle transaction the polling relay uses, and
 * its checkpoint with them (a database checkpoint is written in that transaction; a slot is
 * confirmed only after it, and the new reader ends the old stream in {@link ChangeLog.resume}).
 *
 * Committed events arrive in commit order; they are published in batches through core's
 * {@link publishBatch} (per-aggregate chains, confirms), settled with {@link settleFenced} (rows
 * moved to history or deleted: the table stays small), and the checkpoint moves only past the
 * last transaction whose events were ALL settled. A crash re-reads from the checkpoint:
 * duplicates, bounded by two batches (one settling behind the other's publish), never a gap. A
 * batch is retried (transient failures with the breaker's backoff, permanent ones after their
 * retry delay) until every event of it is acked or quarantined, so nothing later in the log
 * overtakes it.
 */
export class ChangeLogReader implements LogicalReader {
  readonly id: string;
  readonly #owner: string;
  readonly #options: ResolvedRelayOptions;
  readonly #log: ChangeLog;
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
  #buffer: ChangeItem[] = [];
  #bufferedEvents = 0;
  #paused = false;
  #publishing = false;
  /** The settle (and log confirm) of the last clean batch, running behind the next batch's publish: true when it settled, false when the leases were lost. */
  #behind: Promise<boolean | { error: unknown }> | null = null;
  /** The position this reader last checkpointed (or found on resume). */
  #confirmed = '';
  /** A keepalive position past {@link #confirmed} with nothing unsettled before it, not yet saved (database checkpoints only). */
  #idlePosition: string | null = null;
  #idleSavedAt = 0;
  #lastTick: Date | null = null;
  #slot: LogicalSlotStatus | null = null;
  #wake: () => void = () => undefined;

  constructor(options: ChangeLogReaderOptions) {
    if (options.poisonPolicy === 'park') {
      throw new OutboxConfigError(
        'poisonPolicy',
        "'park' is not available with the logical source: holding back a parked aggregate's later events needs the polling claim's look-up; use 'dead-letter' (--poison-policy dead-letter) or --source poll",
      );
    }
    this.#options = normalizeRelayOptions({ ...options, poisonPolicy: 'dead-letter' });
    this.id = this.#options.relayId;
    this.#owner = logicalReaderOwner(this.id);
    this.#log = options.log;
    this.#dialect = options.dialect;
    this.#db = options.database;
    this.#publisher = options.publisher;
    this.#logger = options.logger ?? silentLogger;
    this.#observer = options.observer ?? {};
  }

  async start(): Promise<void> {
    if (this.#state !== 'idle') throw new OutboxError('OUTBOX_RELAY_STATE', `logical reader ${this.id} was already started`);
    await this.#log.check();
    this.#slot = await this.#log.status();
    this.#state = 'running';
    this.#loopDone = this.#loop();
    this.#logger.info({ relayId: this.id, ...this.#log.describe }, 'logical reader started');
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

  /** All shards or none: a reader with some of them could not publish the log in order. */
  async #takeRole(): Promise<boolean> {
    this.#lastTick = new Date();
    await this.#sampleStatus();
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

  /** The active reader's life: stream, publish and checkpoint until stopped, fenced or disconnected. */
  async #lead(): Promise<void> {
    this.#confirmed = await this.#log.resume();
    this.#idlePosition = null;
    this.#buffer = [];
    this.#bufferedEvents = 0;
    this.#paused = false;
    this.#logger.info({ relayId: this.id, ...this.#log.describe, confirmedLsn: this.#confirmed }, 'logical reader active: streaming from the checkpoint');
    const stream = this.#log.open(this.#confirmed, {
      item: (item) => this.#onItem(item),
      keepalive: (position, mustReply, inTransaction) => this.#onKeepalive(position, mustReply, inTransaction),
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
        if (batch.length > 0) {
          if (!(await this.#publishUntilSettled(batch))) break;
        } else if (this.#behind !== null) {
          if (!(await this.#settledBehind())) break;
        } else if (!(await this.#saveIdlePosition())) break;
        else await this.#idle(this.#tickMs);
      }
    } finally {
      clearInterval(renewing);
      // Its confirm goes through the stream: before the stream stops.
      await this.#settledBehind().catch((error: unknown) => this.#reportError('ack', error));
      this.#stream = null;
      await stream.stop();
      await streaming;
      this.#buffer = [];
      this.#bufferedEvents = 0;
    }
    if (ended !== null && this.#state === 'running') {
      // The connection failed (server restart, slot in use, log purged): not at once again.
      this.#reportError('cycle', ended);
      await this.#idle(1000);
    }
    if (this.#leases.length < SHARD_COUNT && this.#state === 'running') {
      this.#logger.warn({ relayId: this.id }, 'logical reader lost its leases: standing by; the new reader re-reads from the checkpoint');
      this.#leases = [];
      this.#observer.shards?.([]);
    }
  }

  #onItem(item: ChangeItem): void {
    this.#buffer.push(item);
    if (item.kind === 'event') this.#bufferedEvents++;
    if (!this.#paused && this.#bufferedEvents >= this.#options.batchSize * BUFFERED_BATCHES) {
      this.#paused = true;
      this.#stream?.pause();
    }
    this.#wake();
  }

  /**
   * Keepalives carry how far the log has gone. With nothing buffered, nothing in flight and no
   * transaction half-received, everything before that point is settled: checkpointing it lets
   * the server recycle log of unrelated tables (otherwise a quiet outbox in a busy database would
   * hold a slot's WAL forever, or leave its binlog checkpoint in a file that gets purged).
   * Otherwise a requested reply repeats the last confirmed position.
   */
  #onKeepalive(position: string, mustReply: boolean, inTransaction: boolean): void {
    const idle = this.#buffer.length === 0 && !this.#publishing && this.#behind === null && !inTransaction;
    if (idle && this.#log.isAfter(position, this.#confirmed)) {
      if (this.#log.saveCheckpoint === undefined) this.#confirm(position);
      else this.#idlePosition = position;
    } else if (mustReply) this.#stream?.confirm(this.#confirmed);
  }

  #confirm(position: string): void {
    this.#confirmed = position;
    this.#idlePosition = null;
    this.#stream?.confirm(position);
  }

  /** A database checkpoint moved past other tables' commits, fenced like a settle. False when the leases turned out lost. */
  async #saveIdlePosition(): Promise<boolean> {
    const position = this.#idlePosition;
    if (position === null || Date.now() - this.#idleSavedAt < (this.#log.idleCheckpointMs ?? IDLE_CHECKPOINT_MS)) return true;
    this.#idleSavedAt = Date.now();
    const settlement = await this.#settle(EMPTY_OUTCOME, position, () => true);
    if (settlement.lostShards.length > 0) {
      this.#leases = [];
      return false;
    }
    if (this.#idlePosition === position) this.#confirm(position);
    return true;
  }

  /** Up to batchSize events from the head of the buffer, with the commit marks among and right after them. */
  #takeBatch(): ChangeItem[] {
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
   * the log up to its last commit (a database checkpoint is written by the settle that finished
   * the batch). False when the leases were lost (the batch is left to the next reader, which
   * re-reads it from the checkpoint).
   *
   * A batch the broker confirmed whole on its first attempt is settled behind: its fenced
   * transaction and its confirm run while the next batch is published, so an event that arrives
   * meanwhile waits for one publish, not a publish and a settle. One settle at a time, in log
   * order, so the checkpoint never passes an unsettled batch; a batch with any failure waits for
   * the settle behind and is settled (and retried) in place, so nothing later overtakes it.
   */
  async #publishUntilSettled(batch: readonly ChangeItem[]): Promise<boolean> {
    this.#publishing = true;
    try {
      const lastCommit = batch.findLast((item) => item.kind === 'commit');
      const checkpoint = lastCommit?.kind === 'commit' ? lastCommit.position : null;
      let pending = batch.flatMap((item) => (item.kind === 'event' ? [item.event] : []));
      for (let attempt = 0; pending.length > 0 || attempt === 0; attempt++) {
        if (this.#leases.length < SHARD_COUNT) return false;
        // Stopping: the batch got its attempt; what is left is re-read by the next reader.
        if (attempt > 0 && this.#state !== 'running') return false;
        const waitMs = this.#breaker.remainingMs();
        if (waitMs > 0 && pending.length > 0) {
          await this.#idle(waitMs);
          continue;
        }
        const outcome = pending.length > 0 ? await this.#publish(pending) : EMPTY_OUTCOME;
        if (!(await this.#settledBehind())) return false;
        if (attempt === 0 && pending.length > 0 && outcome.confirmed.length === pending.length && this.#state === 'running') {
          if (this.#breaker.isTripped) this.#closeBreaker();
          this.#behind = this.#settleBehind(outcome, checkpoint).catch((error: unknown) => ({ error }));
          return true;
        }
        const before = pending;
        const settlement = await this.#settle(outcome, checkpoint, (decided) => remaining(before, decided).length === 0);
        if (settlement.lostShards.length > 0) {
          this.#lostLeases(settlement);
          return false;
        }
        this.#report(settlement);
        pending = remaining(pending, settlement);
        if (outcome.transient !== null) this.#openBreaker(outcome.transient.cause);
        else if (this.#breaker.isTripped) this.#closeBreaker();
        const retryInMs = Math.min(...settlement.decisions.map((decision) => (decision.action === 'fail' ? decision.retryInMs : Number.POSITIVE_INFINITY)));
        if (pending.length > 0 && outcome.transient === null && Number.isFinite(retryInMs)) await this.#idle(retryInMs);
      }
      if (checkpoint !== null) this.#confirm(checkpoint);
      return true;
    } finally {
      this.#publishing = false;
    }
  }

  /** Settles a batch confirmed whole and confirms the log past it; false when the leases were lost. */
  async #settleBehind(outcome: PublishOutcome, checkpoint: string | null): Promise<boolean> {
    const settlement = await this.#settle(outcome, checkpoint, (decided) => remaining(outcome.confirmed, decided).length === 0);
    if (settlement.lostShards.length > 0) {
      this.#lostLeases(settlement);
      return false;
    }
    this.#report(settlement);
    if (checkpoint !== null) this.#confirm(checkpoint);
    return true;
  }

  /** Waits for the settle running behind, if any: false when it found the leases lost; its error thrown. */
  async #settledBehind(): Promise<boolean> {
    const behind = this.#behind;
    if (behind === null) return true;
    // Cleared only once it finished: until then a keepalive must not checkpoint past its batch.
    const settled = await behind;
    this.#behind = null;
    if (typeof settled !== 'boolean') throw settled.error;
    return settled;
  }

  #lostLeases(settlement: Settlement): void {
    this.#logger.warn(
      { relayId: this.id, shards: settlement.lostShards.length, events: countDecisions(settlement).fenced },
      'lease lost: marks refused, the new reader publishes these events',
    );
    this.#leases = [];
  }

  #publish(events: readonly StoredEvent[]): Promise<PublishOutcome> {
    return publishBatch(this.#publisher, events, this.#options.maxInFlight, this.#observer);
  }

  /**
   * Settles `outcome` (fenced); a database checkpoint at `checkpoint` is written in the same
   * transaction when `finishes(settlement)` says the batch is then done. Retried on database
   * errors so a blip does not turn confirmed events into duplicates.
   */
  async #settle(outcome: PublishOutcome, checkpoint: string | null, finishes: (settlement: Settlement) => boolean): Promise<Settlement> {
    const save = this.#log.saveCheckpoint?.bind(this.#log);
    const writesCheckpoint = save !== undefined && checkpoint !== null;
    if (!writesCheckpoint && outcome.confirmed.length === 0 && outcome.failures.length === 0 && outcome.expired.length === 0) {
      return { decisions: [], lostShards: [] };
    }
    let lookedAgain = 0;
    const alsoInTransaction = async (tx: SqlExecutor, settlement: Settlement, marked: number): Promise<void> => {
      // The log streams a commit a moment before its rows are visible to other sessions (the
      // commit record is written, then the writer leaves the process array; the binlog is
      // written before InnoDB's commit). A settle in that moment finds no row to mark and the
      // log would be confirmed past an unsettled event, left pending forever: roll back and look
      // again. Still missing after that, the rows were settled already (a batch re-read after a
      // crash, whose first reader marked them).
      const acked = countDecisions(settlement).ack;
      if (marked < acked && lookedAgain < VISIBILITY_LOOKS) throw new RowsNotVisibleYet(acked - marked);
      if (marked < acked) {
        this.#logger.info({ relayId: this.id, events: acked - marked }, 'acked events already settled by an earlier reader (re-read after a restart)');
      }
      if (writesCheckpoint && settlement.lostShards.length === 0 && finishes(settlement)) await save(tx, checkpoint);
    };
    // Two separate budgets: looking again for rows not visible yet is not a database error.
    let failures = 0;
    for (;;) {
      try {
        return await settleFenced(this.#dialect, this.#db, this.#owner, this.#leases, outcome, this.#options, alsoInTransaction);
      } catch (error) {
        if (error instanceof RowsNotVisibleYet) {
          lookedAgain++;
          await new Promise((resolve) => setTimeout(resolve, 10 * 2 ** lookedAgain));
          continue;
        }
        this.#reportError('ack', error);
        if (++failures >= SETTLE_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** failures));
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
      await this.#sampleStatus();
    } catch (error) {
      this.#reportError('lease', error);
    }
  }

  async #sampleStatus(): Promise<void> {
    try {
      this.#slot = await this.#log.status();
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

const EMPTY_OUTCOME: PublishOutcome = Object.freeze({ confirmed: [], failures: [], expired: [], transient: null }) as unknown as PublishOutcome;

/** The events still to publish after `settlement`: failed ones with their attempt counted, and those never tried, in log order. */
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

/** Thrown inside a settle transaction to roll it back: some acked events' rows are not visible yet. */
class RowsNotVisibleYet extends Error {
  constructor(missing: number) {
    super(`${missing} acked event row(s) not visible yet`);
  }
}
