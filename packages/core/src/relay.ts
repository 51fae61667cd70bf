import { backoffDelay, CircuitBreaker } from './backoff.js';
import type { RelayStore, LeaseStore } from './dialect.js';
import type { StoredEvent } from './envelope.js';
import { OutboxError, type PublishError } from './errors.js';
import { LeaseSet, shardsNotHeld } from './leases.js';
import { silentLogger, type RelayLogger, type RelayObserver } from './observer.js';
import type { Publisher } from './publisher.js';
import { normalizeRelayOptions, type RelayOptions, type ResolvedRelayOptions } from './relay-options.js';
import type { SqlDatabase } from './sql.js';

/** What one claim-publish-ack cycle did. */
export interface CycleResult {
  claimed: number;
  /** Confirmed by the broker and marked published. */
  published: number;
  /** Permanent failures recorded for a retry with backoff. */
  failed: number;
  quarantined: number;
  /** Events whose marks were refused because another relay took their shard. */
  fenced: number;
  /** The broker failed transiently; the breaker is open and nothing more was claimed. */
  transient: boolean;
}

export interface RelayHealth {
  readonly relayId: string;
  readonly running: boolean;
  readonly ownedShards: readonly number[];
  readonly breakerOpen: boolean;
  readonly publisherConnected: boolean;
  /** When the last claim completed, or null before the first. */
  readonly lastPollAt: Date | null;
}

interface PublishOutcome {
  confirmed: StoredEvent[];
  failures: { event: StoredEvent; error: PublishError }[];
  transient: unknown;
}

const BREAKER_INITIAL_MS = 500;
const BREAKER_MAX_MS = 30_000;
const ACK_ATTEMPTS = 4;

/**
 * Publishes committed outbox rows to a broker, at least once, in per-aggregate order.
 *
 * One cycle: claim pending rows of the shards this relay leases (position order), publish them
 * pipelined across aggregates while each aggregate's events go strictly one after another, then
 * in ONE fenced transaction move the confirmed rows to history and record failures. A row is
 * never marked before its confirm; a crash between confirm and mark re-publishes it (a duplicate
 * the consumer's inbox absorbs), never loses it.
 *
 * @example
 * const relay = new Relay({ dialect, database: pgDatabase(pool), publisher });
 * await relay.start();
 * process.on('SIGTERM', () => relay.stop());
 */
export class Relay {
  readonly id: string;
  private readonly options: ResolvedRelayOptions;
  private readonly dialect: RelayStore & LeaseStore;
  private readonly db: SqlDatabase;
  private readonly publisher: Publisher;
  private readonly logger: RelayLogger;
  private readonly observer: RelayObserver;
  private readonly leases: LeaseSet;
  private readonly breaker = new CircuitBreaker(BREAKER_INITIAL_MS, BREAKER_MAX_MS);
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  private loopDone: Promise<void> = Promise.resolve();
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private unsubscribes: (() => void | Promise<void>)[] = [];
  private wakePending = false;
  private interruptPause: ((byWake: boolean) => void) | undefined;
  private lastRebalanceAt = 0;
  private idleDelayMs: number;
  private lastPoll: Date | null = null;

  constructor(options: RelayOptions) {
    this.options = normalizeRelayOptions(options);
    this.id = this.options.relayId;
    this.dialect = options.dialect;
    this.db = options.database;
    this.publisher = options.publisher;
    this.logger = options.logger ?? silentLogger;
    this.observer = options.observer ?? {};
    this.leases = new LeaseSet(this.dialect, this.db, this.id, this.options.leaseTtlMs);
    this.idleDelayMs = this.minIdleDelayMs;
  }

  /**
   * Joins the relay group, takes this relay's share of the shards and starts the loop. Rejects
   * when the database is unusable (for example, the tables were never migrated).
   */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new OutboxError('OUTBOX_RELAY_STATE', `relay ${this.id} was already started`);
    this.state = 'running';
    try {
      await this.rebalance();
    } catch (error) {
      this.state = 'stopped';
      throw error;
    }
    for (const source of this.options.wakeSources) this.unsubscribes.push(source.subscribe(() => this.wake()));
    this.renewTimer = setInterval(() => void this.renew(), this.renewIntervalMs);
    this.renewTimer.unref();
    this.logger.info({ relayId: this.id, shards: this.leases.shards.length }, 'relay started');
    this.loopDone = this.loop();
  }

  /** Cuts an idle wait short: new events were committed. Cheap; call as often as you like. */
  wake(): void {
    this.wakePending = true;
    this.interruptPause?.(true);
  }

  /**
   * Graceful shutdown: the in-flight batch finishes (confirms awaited, marks committed) within
   * `shutdownTimeoutMs`, then the leases are given up so other relays take over at once.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    clearInterval(this.renewTimer);
    this.interruptPause?.(false);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), this.options.shutdownTimeoutMs);
    });
    const outcome = await Promise.race([this.loopDone.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.logger.warn({ relayId: this.id }, 'shutdown timeout: giving up leases with a batch still in flight; its events will be re-published');
    }
    await Promise.all(this.unsubscribes.map((unsubscribe) => unsubscribe()));
    this.unsubscribes = [];
    try {
      await this.leases.leave();
    } catch (error) {
      this.reportError('leave', error);
    }
    this.state = 'stopped';
    this.observer.shards?.([]);
    this.logger.info({ relayId: this.id }, 'relay stopped');
  }

  /**
   * Runs cycles until nothing is claimable (or the broker fails), then gives up the leases.
   * For one-shot use (`outbox-relay run --once`, tests); not while started.
   */
  async drain(): Promise<CycleResult> {
    if (this.state === 'running' || this.state === 'stopping') {
      throw new OutboxError('OUTBOX_RELAY_STATE', 'drain() cannot run while the relay loop is started');
    }
    const total: CycleResult = { claimed: 0, published: 0, failed: 0, quarantined: 0, fenced: 0, transient: false };
    try {
      for (;;) {
        const cycle = await this.runCycle();
        for (const key of ['claimed', 'published', 'failed', 'quarantined', 'fenced'] as const) total[key] += cycle[key];
        total.transient = cycle.transient;
        // Failing events come back only after their backoff, and quarantine bounds their retries.
        if (cycle.claimed === 0 || cycle.transient) return total;
      }
    } finally {
      await this.leases.leave();
    }
  }

  health(): RelayHealth {
    return {
      relayId: this.id,
      running: this.state === 'running',
      ownedShards: this.leases.shards,
      breakerOpen: this.breaker.remainingMs() > 0,
      publisherConnected: this.publisher.isConnected(),
      lastPollAt: this.lastPoll,
    };
  }

  private get renewIntervalMs(): number {
    return Math.max(100, Math.floor(this.options.leaseTtlMs / 3));
  }

  private get minIdleDelayMs(): number {
    return Math.max(5, Math.floor(this.options.pollIntervalMs / 16));
  }

  private async loop(): Promise<void> {
    let errorDelayMs = this.minIdleDelayMs;
    while (this.state === 'running') {
      let result: CycleResult;
      try {
        result = await this.runCycle();
        errorDelayMs = this.minIdleDelayMs;
      } catch (error) {
        // Database trouble: the relay keeps its place and retries; nothing is lost because
        // nothing was marked.
        this.reportError('cycle', error);
        await this.pause(errorDelayMs, false);
        errorDelayMs = Math.min(errorDelayMs * 2, Math.max(this.options.pollIntervalMs, 5000));
        continue;
      }
      if (result.transient) {
        await this.pause(Math.max(this.breaker.remainingMs(), 1), false);
      } else if (result.claimed > 0) {
        this.idleDelayMs = this.minIdleDelayMs;
      } else {
        await this.pause(this.idleDelayMs, true);
        this.idleDelayMs = Math.min(this.idleDelayMs * 2, this.options.pollIntervalMs);
      }
    }
  }

  /** Waits `ms`, or less when stopping, or (when `wakeable`) when a wake-up arrives. */
  private pause(ms: number, wakeable: boolean): Promise<void> {
    if (wakeable && this.wakePending) {
      this.wakePending = false;
      this.idleDelayMs = this.minIdleDelayMs;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.interruptPause = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.interruptPause = (byWake) => {
        if (byWake && !wakeable) return;
        if (byWake) {
          this.wakePending = false;
          this.idleDelayMs = this.minIdleDelayMs;
        }
        done();
      };
    });
  }

  private async runCycle(): Promise<CycleResult> {
    const result: CycleResult = { claimed: 0, published: 0, failed: 0, quarantined: 0, fenced: 0, transient: false };
    if (this.breaker.remainingMs() > 0) return { ...result, transient: true };
    if (Date.now() - this.lastRebalanceAt >= this.renewIntervalMs) await this.rebalance();
    const shards = this.leases.shards;
    if (shards.length === 0) return result;

    const started = performance.now();
    const batch = await this.dialect.claim(this.db, shards, this.options.batchSize);
    this.lastPoll = new Date();
    this.observer.polled?.({ claimed: batch.length, durationMs: performance.now() - started });
    result.claimed = batch.length;
    if (batch.length === 0) return result;

    const outcome = await this.publishBatch(batch);
    Object.assign(result, await this.settle(outcome));
    if (outcome.transient !== null) {
      this.openBreaker(outcome.transient);
      result.transient = true;
    } else if (this.breaker.isTripped) {
      this.breaker.reset();
      this.observer.breaker?.(false);
      this.logger.info({ relayId: this.id }, 'broker healthy again: circuit closed');
    }
    return result;
  }

  /**
   * Publishes with up to `maxInFlight` confirms outstanding, one chain per aggregate: event n+1
   * of an aggregate is sent only after n is confirmed, and a failure ends that aggregate's chain
   * for this batch so nothing overtakes it.
   */
  private async publishBatch(batch: readonly StoredEvent[]): Promise<PublishOutcome> {
    const outcome: PublishOutcome = { confirmed: [], failures: [], transient: null };
    const chains = [...groupByAggregate(batch).values()];
    const next = (): StoredEvent[] | undefined => chains.shift();
    const worker = async (): Promise<void> => {
      for (let chain = next(); chain && outcome.transient === null; chain = next()) {
        for (const event of chain) {
          if (outcome.transient !== null) return;
          try {
            await this.publisher.publish(event);
            outcome.confirmed.push(event);
            this.observer.published?.(event, new Date());
          } catch (error) {
            const permanent = isPermanentPublishError(error);
            this.observer.failed?.(event, error as Error, permanent);
            if (permanent) outcome.failures.push({ event, error: error as PublishError });
            else outcome.transient ??= error;
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.maxInFlight, chains.length) }, worker));
    return outcome;
  }

  /**
   * Marks the outcome in one transaction that first checks the leases (fencing): events of a
   * shard this relay no longer owns are left alone for the new owner. Retried on database
   * errors so a blip does not turn confirmed events into duplicates.
   */
  private async settle(outcome: PublishOutcome): Promise<Omit<CycleResult, 'claimed' | 'transient'>> {
    const counts = { published: 0, failed: 0, quarantined: 0, fenced: 0 };
    const touched = [...outcome.confirmed, ...outcome.failures.map((f) => f.event)];
    if (touched.length === 0) return counts;
    const shards = new Set(touched.map((event) => event.shard));
    const quarantined: { event: StoredEvent; reason: string; status: 'parked' | 'dead-lettered' }[] = [];
    for (let attempt = 1; ; attempt++) {
      quarantined.length = 0;
      try {
        const lost = await this.db.transaction(async (tx) => {
          const leases = this.leases.leasesFor(shards);
          const rows = leases.length === 0 ? [] : await this.dialect.lockLeaseRows(tx, leases.map((lease) => lease.shard));
          const lostShards = new Set(shardsNotHeld(this.id, leases, rows));
          for (const shard of shards) if (!leases.some((lease) => lease.shard === shard)) lostShards.add(shard);
          const owned = (event: StoredEvent): boolean => !lostShards.has(event.shard);
          const ack = outcome.confirmed.filter(owned);
          if (ack.length > 0) await this.dialect.markPublished(tx, ack.map((event) => event.id), this.options.keepHistory);
          counts.published = ack.length;
          counts.failed = 0;
          for (const { event, error } of outcome.failures.filter((f) => owned(f.event))) {
            const attempts = event.attempts + 1;
            const reason = `${error.reason}: ${error.message}`;
            if (attempts >= this.options.maxAttempts) {
              const status = this.options.poisonPolicy === 'park' ? 'parked' : 'dead-lettered';
              await this.dialect.quarantine(tx, event.id, reason, status);
              quarantined.push({ event, reason, status });
            } else {
              await this.dialect.markFailed(tx, event.id, reason, backoffDelay(attempts, this.options.retryInitialMs, this.options.retryMaxMs));
              counts.failed++;
            }
          }
          counts.fenced = touched.filter((event) => !owned(event)).length;
          return [...lostShards];
        });
        counts.quarantined = quarantined.length;
        if (counts.published > 0) this.observer.acked?.(counts.published);
        for (const q of quarantined) {
          this.observer.quarantined?.(q.event, q.reason, q.status);
          this.logger.warn(
            { relayId: this.id, eventId: q.event.id, aggregateType: q.event.aggregateType, aggregateId: q.event.aggregateId, reason: q.reason, status: q.status },
            q.status === 'parked' ? 'event quarantined; its aggregate is parked until retried or skipped' : 'event quarantined (dead-lettered); its aggregate continues',
          );
        }
        if (lost.length > 0) {
          this.leases.forget(lost);
          this.observer.shards?.(this.leases.shards);
          this.logger.warn({ relayId: this.id, shards: lost, events: counts.fenced }, 'lease lost: marks refused, the new owner will publish these events');
        }
        return counts;
      } catch (error) {
        this.reportError('ack', error);
        if (attempt >= ACK_ATTEMPTS || this.state === 'stopped') throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  private openBreaker(cause: unknown): void {
    const wasOpen = this.breaker.isTripped;
    this.breaker.trip();
    this.observer.breaker?.(true);
    if (!wasOpen) {
      this.logger.warn({ relayId: this.id, err: describeError(cause) }, 'broker unavailable: circuit open, claiming paused (no attempts are counted)');
    }
  }

  private async rebalance(): Promise<void> {
    const before = this.leases.shards.join(',');
    await this.leases.rebalance();
    this.lastRebalanceAt = Date.now();
    const after = this.leases.shards;
    if (after.join(',') !== before) {
      this.observer.shards?.(after);
      this.logger.info({ relayId: this.id, shards: after.length }, 'shard ownership changed');
    }
  }

  private async renew(): Promise<void> {
    if (this.renewing || this.state !== 'running') return;
    this.renewing = true;
    try {
      const lost = await this.leases.renew();
      if (lost.length > 0) {
        this.observer.shards?.(this.leases.shards);
        this.logger.warn({ relayId: this.id, shards: lost }, 'leases expired before renewal; shards dropped');
      }
    } catch (error) {
      this.reportError('lease', error);
    } finally {
      this.renewing = false;
    }
  }

  private reportError(phase: string, error: unknown): void {
    this.observer.error?.(phase, error);
    this.logger.error({ relayId: this.id, phase, err: describeError(error) }, `relay ${phase} failed; retrying`);
  }
}

function groupByAggregate(batch: readonly StoredEvent[]): Map<string, StoredEvent[]> {
  const chains = new Map<string, StoredEvent[]>();
  for (const event of batch) {
    const key = `${event.aggregateType}\u0000${event.aggregateId}`;
    const chain = chains.get(key);
    if (chain) chain.push(event);
    else chains.set(key, [event]);
  }
  for (const chain of chains.values()) chain.sort((a, b) => a.sequence - b.sequence);
  return chains;
}

/** Structural check, so it holds across two copies of this package in one process. */
function isPermanentPublishError(error: unknown): error is PublishError {
  return typeof error === 'object' && error !== null && (error as PublishError).code === 'OUTBOX_PUBLISH' && (error as PublishError).permanent === true;
}

function describeError(error: unknown): { message: string; code?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' ? { message: error.message, code } : { message: error.message };
}
