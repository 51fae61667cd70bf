import { aggregateLabel } from './aggregate-label.js';
import { checkDeliveries, type DeliveryReport } from './delivery-check.js';
import type { Attempt, AttemptedEvent, Delivery, RecordedDelivery, WriteOutcome } from './delivery-types.js';

export type { Attempt, AttemptedEvent, Delivery, RecordedDelivery, WriteOutcome } from './delivery-types.js';

const OUTCOMES: ReadonlySet<string> = new Set<WriteOutcome>(['committed', 'rolled-back', 'unknown']);

/**
 * When one id is attempted more than once (a writer retrying with the same idempotency key),
 * the strongest outcome wins: one commit makes the row exist whatever the other attempts did,
 * and an unknown outcome may have committed, so it beats a known rollback.
 */
const OUTCOME_STRENGTH: Record<WriteOutcome, number> = { 'rolled-back': 0, unknown: 1, committed: 2 };

/**
 * The record of one guarantee test: every event the writers attempted (with how their
 * transaction ended) and every delivery consumers saw, duplicates included, in arrival order.
 * {@link checkDeliveries} turns it into a {@link DeliveryReport}.
 *
 * @example
 * const log = new DeliveryLog();
 * log.attempted({ id: e1.id, aggregateType: 'order', aggregateId: 'o-1', sequence: 1 }, 'committed');
 * log.attempted({ id: e2.id, aggregateType: 'order', aggregateId: 'o-1' }, 'rolled-back');
 * // ... relay runs; the collector calls log.delivered(...) for each message ...
 * expectDeliveryOk(log.check());
 */
export class DeliveryLog {
  readonly #attempts = new Map<string, Attempt>();
  readonly #deliveries: RecordedDelivery[] = [];
  readonly #deliveredIds = new Set<string>();

  /**
   * Records that a writer tried to write `event` and how its transaction ended. Use `'unknown'`
   * when the writer crashed around commit: such an event may or may not be delivered.
   */
  attempted(event: AttemptedEvent, outcome: WriteOutcome): void {
    if (!OUTCOMES.has(outcome)) {
      throw new TypeError(`DeliveryLog.attempted: outcome must be 'committed', 'rolled-back' or 'unknown', got ${JSON.stringify(outcome)}`);
    }
    const attempt: Attempt = Object.freeze({
      id: requireText(event?.id, 'attempted', 'event.id'),
      aggregateType: requireText(event.aggregateType, 'attempted', 'event.aggregateType'),
      aggregateId: requireText(aggregateIdText(event.aggregateId), 'attempted', 'event.aggregateId'),
      sequence: optionalSequence(event.sequence, 'attempted'),
      outcome,
    });
    const earlier = this.#attempts.get(attempt.id);
    if (earlier) {
      assertSameEvent(earlier, attempt);
      if (earlier.outcome === 'committed' && outcome === 'committed') {
        // The outbox table's primary key makes a second commit of one id impossible: the test
        // harness is recording the wrong thing, and every figure after this would be wrong too.
        throw new Error(`DeliveryLog.attempted: event ${attempt.id} was already recorded as committed; an id commits at most once`);
      }
      if (OUTCOME_STRENGTH[outcome] <= OUTCOME_STRENGTH[earlier.outcome]) return;
    }
    this.#attempts.set(attempt.id, attempt);
  }

  /** Records one delivery, in the order deliveries arrive. Call it for duplicates too. */
  delivered(delivery: Delivery): void {
    const aggregateId = delivery?.aggregateId === undefined ? undefined : String(delivery.aggregateId);
    this.#deliveries.push(
      Object.freeze({
        id: requireText(delivery?.id, 'delivered', 'delivery.id'),
        aggregateType: delivery.aggregateType,
        aggregateId,
        sequence: optionalSequence(delivery.sequence, 'delivered'),
        arrival: this.#deliveries.length,
      }),
    );
    this.#deliveredIds.add(delivery.id);
  }

  /** Every attempted event (one entry per id), in the order ids were first recorded. */
  get attempts(): readonly Attempt[] {
    return [...this.#attempts.values()];
  }

  /** Every delivery in arrival order, duplicates included. */
  get deliveries(): readonly RecordedDelivery[] {
    return this.#deliveries;
  }

  /** The attempt recorded for `id`, if any. */
  attemptOf(id: string): Attempt | undefined {
    return this.#attempts.get(id);
  }

  /** Whether `id` arrived at least once. */
  wasDelivered(id: string): boolean {
    return this.#deliveredIds.has(id);
  }

  /** Number of distinct ids delivered so far. */
  get distinctDelivered(): number {
    return this.#deliveredIds.size;
  }

  /** Committed events not delivered yet: what a test waiting for the backlog to drain still needs. */
  pending(): Attempt[] {
    return this.attempts.filter((attempt) => attempt.outcome === 'committed' && !this.#deliveredIds.has(attempt.id));
  }

  /** Same as `checkDeliveries(this)`. */
  check(): DeliveryReport {
    return checkDeliveries(this);
  }
}

/**
 * True once every committed event has been delivered at least once. A ready-made condition for
 * `collector.waitFor(allCommittedDelivered, ms)`; its name appears in timeout messages.
 */
export function allCommittedDelivered(log: DeliveryLog): boolean {
  return log.pending().length === 0;
}

function aggregateIdText(value: unknown): unknown {
  return typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
}

function requireText(value: unknown, method: string, field: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`DeliveryLog.${method}: ${field} must be a non-empty string, got ${value === '' ? 'an empty string' : typeof value}`);
  }
  return value;
}

function optionalSequence(value: unknown, method: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new TypeError(`DeliveryLog.${method}: sequence must be an integer when given, got ${JSON.stringify(value)}`);
  }
  return value;
}

function assertSameEvent(earlier: Attempt, later: Attempt): void {
  if (earlier.aggregateType !== later.aggregateType || earlier.aggregateId !== later.aggregateId) {
    throw new Error(
      `DeliveryLog.attempted: event ${later.id} was recorded for ${aggregateLabel(earlier.aggregateType, earlier.aggregateId)} ` +
        `and now for ${aggregateLabel(later.aggregateType, later.aggregateId)}; one id names one event`,
    );
  }
}
