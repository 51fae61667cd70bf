import { CircuitBreaker } from './backoff.js';
import { BROKER_START_WAIT_MS, BrokerGate } from './broker-gate.js';
import type { RelayStore, LeaseStore } from './dialect.js';
import type { StoredEvent } from './envelope.js';
import { OutboxError, type PublishError } from './errors.js';
import { FailureWarnings } from './failure-warnings.js';
import { LeaseSet } from './leases.js';
import { silentLogger, type RelayLogger, type RelayObserver } from './observer.js';
import { Pacer, type CycleEnd } from './pacer.js';
import { isPublishError, publishBatch, type PublishOutcome } from './publish-batch.js';
import type { Publisher } from './publisher.js';
import { normalizeRelayOptions, type RelayOptions, type ResolvedRelayOptions } from './relay-options.js';
import { countDecisions, settleFenced, touchedShards, type DecisionCounts, type Settlement } from './settlement.js';
import type { SqlDatabase } from './sql.js';

/** What one claim-publish-ack cycle did. */
export interface CycleResult {
  claimed: number;
  /** Confirmed by the broker and marked published. */
  published: number;
  /** Permanent failures recorded for a retry with backoff. */
  failed: number;
  quarantined: number;
  /** Of the quarantined, those withheld unpublished because their `expiresAt` had passed. */
  expired: number;
  /** Events whose marks were refused because another relay took their shard. */
  fenced: number;
  /** The broker failed transiently; the breaker is open and nothing more was claimed. */
  transient: boolean;
  /** The transient failure's message, when `transient`. */
  brokerError?: string;
}

export interface RelayHealth {
  readonly relayId: string;
  readonly running: boolean;
  readonly ownedShards: readonly number[];
  readonly breakerOpen: boolean;
  readonly publisherConnected: boolean;
  /** When the last claim completed, or null before the first. */
  readonly lastPollAt: Date | null;
  /**
   * The broker refuses this relay's user (a missing permission): the configuration, not the
   * broker's health, must change. Null once a batch publishes again.
   */
  readonly configurationError: string | null;
}

const BREAKER_INITIAL_MS = 500;
const BREAKER_MAX_MS = 30_000;
const ACK_ATTEMPTS = 4;
const NOTHING_SETTLED: Settlement = Object.freeze({ decisions: [], lostShards: [] });

/**
 * Publishes committed outbox rows to a broker, at least once, in per-aggregate order.
 *
 * `start()` checks the broker and takes this relay's share of the shards, then loops; each cycle
 * first asks the {@link BrokerGate} (a relay that cannot reach its broker holds no shards), then
 * (`runCycle`): rebalance the shards when due, claim pending rows of the leased shards (position order),
 * publish them in aggregate order (pipelined across aggregates, strictly one after another
 * within one), settle the outcome in ONE fenced transaction (behind the next batch when the
 * broker confirmed it whole), and let the batch open or close the breaker. The {@link Pacer}
 * decides the wait before the next cycle. `stop()` lets the batch in flight finish and gives the
 * leases up. A row is never marked before its confirm; a crash
 * between confirm and mark re-publishes it (a duplicate the consumer's inbox absorbs), never
 * loses it.
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
  private readonly pacer: Pacer;
  private readonly gate: BrokerGate;
  private readonly failureWarnings = new FailureWarnings();
  private readonly configurationErrors = new FailureWarnings();
  private configurationError: string | null = null;
  private state: 'idle' | 'running' | 'stopping' | 'stopped' = 'idle';
  private loopDone: Promise<void> = Promise.resolve();
  private renewTimer: NodeJS.Timeout | undefined;
  private renewing = false;
  private unsubscribes: (() => void | Promise<void>)[] = [];
  private lastRebalanceAt = 0;
  private lastPoll: Date | null = null;
  /** The settle of the last clean batch, running behind the next one (see runCycle). */
  private behind: Promise<DecisionCounts | { error: unknown }> | null = null;
  private prefetched: StoredEvent[] | null = null;

  constructor(options: RelayOptions) {
    this.options = normalizeRelayOptions(options);
    this.id = this.options.relayId;
    this.dialect = options.dialect;
    this.db = options.database;
    this.publisher = options.publisher;
    this.logger = options.logger ?? silentLogger;
    this.observer = options.observer ?? {};
    this.leases = new LeaseSet(this.dialect, this.db, this.id, this.options.leaseTtlMs);
    this.pacer = new Pacer(this.options.pollIntervalMs);
    this.gate = new BrokerGate(this.publisher, this.renewIntervalMs);
  }

  /**
   * Joins the relay group, takes this relay's share of the shards and starts the loop. Rejects
   * when the database is unusable (for example, the tables were never migrated). A broker that
   * does not answer within 5 s is warned about at once, with the reason; the relay then starts
   * without shards and joins when the broker is back.
   */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw new OutboxError('OUTBOX_RELAY_STATE', `relay ${this.id} was already started`);
    this.state = 'running';
    try {
      const unreachable = await this.gate.probe(BROKER_START_WAIT_MS);
      // Leaving also checks the database, as joining would.
      if (unreachable === null) await this.rebalance();
      else await this.leaveGroup(unreachable, 'at start');
    } catch (error) {
      // Nothing was started: the caller may try again (the CLI does while the database is unreachable).
      this.state = 'idle';
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
    this.pacer.wake();
  }

  private async loop(): Promise<void> {
    while (this.state === 'running') await this.pacer.after(await this.cycle());
    this.prefetched = null;
    await this.settledBehind().catch((error: unknown) => this.reportError('ack', error));
  }

  /** One cycle, reduced to what the pacer needs to know about it. */
  private async cycle(): Promise<CycleEnd> {
    try {
      if (!(await this.followBroker())) return { kind: 'broker-down' };
      const result = await this.scheduledCycle();
      if (result.transient) return { kind: 'breaker-open', remainingMs: this.breaker.remainingMs() };
      // Any non-empty claim polls again at once: more is probably waiting.
      return { kind: result.claimed > 0 ? 'claimed' : 'empty' };
    } catch (error) {
      // Database trouble: the relay keeps its place and retries; nothing is lost because
      // nothing was marked.
      this.reportError('cycle', error);
      return { kind: 'error' };
    }
  }

  /**
   * {@link runCycle} in its turn of the scheduler, when there is one. A relay stopped while it
   * waited gives its turn back without claiming.
   */
  private scheduledCycle(): Promise<CycleResult> {
    const scheduler = this.options.scheduler;
    if (scheduler === null) return this.runCycle();
    return scheduler.run(() => (this.state === 'stopping' || this.state === 'stopped' ? Promise.resolve(emptyCycle()) : this.runCycle()));
  }

  /**
   * Rebalance when due, claim, publish in aggregate order, settle, then let the batch decide the
   * breaker. A batch the broker confirmed whole is settled behind: its fenced transaction runs
   * while the next batch is claimed (its rows excluded: they are not deleted yet) and published,
   * so the database round trips overlap the broker's. One settle at a time, in batch order. Only
   * a clean batch may: after a failure, the next claim must see its backoff and its quarantine.
   */
  private async runCycle(): Promise<CycleResult> {
    const nothing = emptyCycle();
    if (this.breaker.remainingMs() > 0) return { ...nothing, transient: true };
    if (Date.now() - this.lastRebalanceAt >= this.renewIntervalMs) {
      // A shard given up here must not have a settle of it still running.
      addCounts(nothing, await this.settledBehind());
      await this.rebalance();
    }
    const shards = this.leases.shards;
    const batch = this.takePrefetched() ?? (shards.length === 0 ? [] : await this.claim(shards));
    if (batch.length === 0) return addCounts(nothing, await this.settledBehind());

    const outcome = await publishBatch(this.publisher, batch, this.options.maxInFlight, this.observer, (event, error) =>
      this.warnPermanentFailure(event, error),
    );
    const result: CycleResult = { ...addCounts(nothing, await this.settledBehind()), claimed: batch.length };
    // A batch of expired events only never reached the broker: it says nothing about its health
    // (a half-open breaker whose trial event had expired stays half-open).
    if (outcome.transient !== null || outcome.confirmed.length + outcome.failures.length > 0) this.updateBreaker(outcome.transient);
    if (outcome.confirmed.length === batch.length && this.state !== 'stopping') {
      this.behind = this.settle(outcome).then(
        (settlement) => this.reported(settlement),
        (error: unknown) => ({ error }),
      );
      this.prefetched = await this.claim(shards, outcome.confirmed);
      return result;
    }
    addCounts(result, this.reported(await this.settle(outcome)));
    result.transient = outcome.transient !== null;
    if (outcome.transient) result.brokerError = describeError(outcome.transient.cause).message;
    return result;
  }

  /** Waits for the settle running behind, if any; its counts, or its error thrown. */
  private async settledBehind(): Promise<DecisionCounts | null> {
    const behind = this.behind;
    if (behind === null) return null;
    this.behind = null;
    const settled = await behind;
    if ('error' in settled) throw settled.error;
    return settled;
  }

  /** The batch claimed ahead, minus events of shards this relay lost since. */
  private takePrefetched(): StoredEvent[] | null {
    const prefetched = this.prefetched;
    this.prefetched = null;
    if (prefetched === null) return null;
    const owned = new Set(this.leases.shards);
    return prefetched.filter((event) => owned.has(event.shard));
  }

  private reported(settlement: Settlement): DecisionCounts {
    const counts = countDecisions(settlement);
    this.reportSettlement(settlement, counts);
    return counts;
  }

  /** Leaves the relay group while the broker is unreachable and rejoins once it is back; false while out. */
  private async followBroker(): Promise<boolean> {
    switch (this.gate.step()) {
      case 'publish':
        return true;
      case 'wait':
        return false;
      case 'leave':
        await this.leaveGroup(await this.gate.reason(), 'while running');
        return false;
      case 'rejoin':
        this.logger.info({ relayId: this.id }, 'broker reachable again: rejoining the relay group');
        await this.rebalance();
        return true;
    }
  }

  /** Gives every shard up and stops heartbeating, so the other relays take them all. */
  private async leaveGroup(reason: string, when: 'at start' | 'while running'): Promise<void> {
    const released = this.leases.shards.length;
    await this.leases.leave();
    this.observer.shards?.([]);
    this.logger.warn(
      { relayId: this.id, shardsReleased: released, err: { message: reason } },
      `broker unavailable ${when}: ${reason}. This relay holds no shards until it can publish; other relays take them`,
    );
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

  /** Claims a batch; `settling`: events of a batch settled behind, still in the table. */
  private async claim(shards: readonly number[], settling: readonly StoredEvent[] = []): Promise<StoredEvent[]> {
    const started = performance.now();
    // Half-open: after a transient failure the first claim is a one-event trial. A broker that
    // is still frozen would apply every publish of a full probe batch once it thaws, each one
    // timed out here and re-published later: a duplicate per event. The trial bounds that to one
    // per back-off; the first confirm closes the breaker and the next claim is a full batch.
    const limit = this.breaker.isTripped ? 1 : this.options.batchSize;
    const batch = await this.dialect.claim(
      this.db,
      shards,
      limit,
      settling.map((event) => event.id),
    );
    this.lastPoll = new Date();
    this.observer.polled?.({ claimed: batch.length, durationMs: performance.now() - started });
    return batch;
  }

  /**
   * Decides and writes the outcome in one transaction that first locks the batch's lease rows
   * (fencing): events of a shard this relay no longer owns are left alone for the new owner.
   * Retried on database errors so a blip does not turn confirmed events into duplicates.
   */
  private async settle(outcome: PublishOutcome): Promise<Settlement> {
    const shards = touchedShards(outcome);
    if (shards.size === 0) return NOTHING_SETTLED;
    for (let attempt = 1; ; attempt++) {
      try {
        const settlement = await settleFenced(this.dialect, this.db, this.id, this.leases.leasesFor(shards), outcome, this.options);
        // Their marks were refused; the new owner publishes those events.
        this.leases.forget(settlement.lostShards);
        return settlement;
      } catch (error) {
        this.reportError('ack', error);
        if (attempt >= ACK_ATTEMPTS || this.state === 'stopped') throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
      }
    }
  }

  private reportSettlement(settlement: Settlement, counts: DecisionCounts): void {
    if (counts.ack > 0) this.observer.acked?.(counts.ack);
    for (const decision of settlement.decisions) {
      if (decision.action !== 'quarantine') continue;
      const { event, reason, status } = decision;
      this.observer.quarantined?.(event, reason, status);
      if (decision.cause === 'expired') this.observer.expired?.(event, status);
      this.logger.warn(
        { relayId: this.id, eventId: event.id, aggregateType: event.aggregateType, aggregateId: event.aggregateId, reason, status },
        status === 'parked'
          ? 'event quarantined; its aggregate is parked until retried or skipped'
          : 'event quarantined (dead-lettered); its aggregate continues',
      );
    }
    if (settlement.lostShards.length > 0) {
      this.observer.shards?.(this.leases.shards);
      this.logger.warn(
        { relayId: this.id, shards: settlement.lostShards, events: counts.fenced },
        'lease lost: marks refused, the new owner will publish these events',
      );
    }
  }

  /**
   * A permanent failure burns one of the event's attempts (an unbound routing key: a consumer
   * that is not started yet), so it is a warning, but one per route and interval, not per event.
   */
  private warnPermanentFailure(event: StoredEvent, error: PublishError): void {
    const due = this.failureWarnings.due(`${error.reason} ${error.destination ?? ''}`);
    if (due === null) return;
    const attempt = event.attempts + 1;
    this.logger.warn(
      {
        relayId: this.id,
        reason: error.reason,
        destination: error.destination,
        eventId: event.id,
        attempt,
        maxAttempts: this.options.maxAttempts,
        notLogged: due.suppressed,
      },
      `${error.message} (attempt ${attempt} of ${this.options.maxAttempts}: retried with backoff, then quarantined; logged once per route and minute)`,
    );
  }

  /** A transient failure opens the breaker; a batch without one closes it again. */
  private updateBreaker(transient: PublishOutcome['transient']): void {
    if (transient !== null) {
      this.openBreaker(transient.cause);
      return;
    }
    this.configurationError = null;
    if (this.breaker.isTripped) {
      this.breaker.reset();
      this.observer.breaker?.(false);
      this.logger.info({ relayId: this.id }, 'broker healthy again: circuit closed');
    }
  }

  private openBreaker(cause: unknown): void {
    const wasOpen = this.breaker.isTripped;
    this.breaker.trip();
    this.observer.breaker?.(true);
    if (isPublishError(cause) && cause.reason === 'permission') {
      // Retrying cannot fix a missing permission, an operator must: an error, repeated once per interval.
      this.configurationError = cause.message;
      const due = this.configurationErrors.due('permission');
      if (due !== null) {
        this.logger.error(
          { relayId: this.id, reason: cause.reason, err: describeError(cause), notLogged: due.suppressed },
          `broker refused the relay's user: ${cause.message} (claiming paused and retried with backoff; logged once per minute)`,
        );
      }
    } else if (!wasOpen) {
      this.logger.warn({ relayId: this.id, err: describeError(cause) }, 'broker unavailable: circuit open, claiming paused (no attempts are counted)');
    }
  }

  /**
   * Graceful shutdown: the in-flight batch finishes (confirms awaited, marks committed) within
   * `shutdownTimeoutMs`, then the leases are given up so other relays take over at once.
   */
  async stop(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopping';
    clearInterval(this.renewTimer);
    this.pacer.stop();
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
    const total = emptyCycle();
    try {
      for (;;) {
        const cycle = await this.scheduledCycle();
        for (const key of ['claimed', 'published', 'failed', 'quarantined', 'expired', 'fenced'] as const) total[key] += cycle[key];
        total.transient = cycle.transient;
        if (cycle.brokerError !== undefined) total.brokerError = cycle.brokerError;
        // Failing events come back only after their backoff, and quarantine bounds their retries.
        if (cycle.claimed === 0 || cycle.transient) return total;
      }
    } finally {
      // Both returns above waited for the settle behind; only a throw can leave one running.
      this.prefetched = null;
      await this.settledBehind().catch((error: unknown) => this.reportError('ack', error));
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
      configurationError: this.configurationError,
    };
  }

  private async renew(): Promise<void> {
    // Out of the group, the relay must not heartbeat: the others would keep its share free.
    if (this.renewing || this.state !== 'running' || this.gate.out) return;
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

  private get renewIntervalMs(): number {
    return Math.max(100, Math.floor(this.options.leaseTtlMs / 3));
  }

  private reportError(phase: string, error: unknown): void {
    this.observer.error?.(phase, error);
    this.logger.error({ relayId: this.id, phase, err: describeError(error) }, `relay ${phase} failed; retrying`);
  }
}

/** Adds a settlement's counts to `result` (nothing for null); returns `result`. */
function addCounts(result: CycleResult, counts: DecisionCounts | null): CycleResult {
  if (counts === null) return result;
  result.published += counts.ack;
  result.failed += counts.fail;
  result.quarantined += counts.quarantine;
  result.expired += counts.expired;
  result.fenced += counts.fenced;
  return result;
}

function emptyCycle(): CycleResult {
  return { claimed: 0, published: 0, failed: 0, quarantined: 0, expired: 0, fenced: 0, transient: false };
}

/** Structural check, so it holds across two copies of this package in one process. */
function describeError(error: unknown): { message: string; code?: string } {
  if (!(error instanceof Error)) return { message: String(error) };
  const code = (error as Error & { code?: unknown }).code;
  return typeof code === 'string' ? { message: error.message, code } : { message: error.message };
}
