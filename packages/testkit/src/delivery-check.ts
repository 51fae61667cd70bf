import { aggregateLabel } from './aggregate-label.js';
import type { Attempt, DeliveryRecords, RecordedDelivery } from './delivery-types.js';

/** A delivery of an id that should never have arrived. */
export interface UnexpectedDelivery extends RecordedDelivery {
  /** `never-attempted`: no writer recorded this id; `rolled-back`: its transaction rolled back. */
  readonly reason: 'never-attempted' | 'rolled-back';
}

/** An id delivered more than once; `count` is the total number of deliveries of it. */
export interface DuplicatedId {
  readonly id: string;
  readonly count: number;
}

/**
 * Two first deliveries of one aggregate whose sequences do not increase: `id` (with `sequence`)
 * arrived right after `previousId` (with `previousSequence`) among that aggregate's first deliveries.
 */
export interface OrderViolation {
  /** `aggregateType/aggregateId` */
  readonly aggregate: string;
  readonly previousId: string;
  readonly previousSequence: number;
  readonly id: string;
  readonly sequence: number;
  /** Arrival position (0-based) of the delivery that broke the order. */
  readonly arrival: number;
}

/** A delivery that names its event differently from what the writer recorded (a relay mapping bug). */
export interface DeliveryMismatch {
  readonly id: string;
  readonly field: 'aggregateType' | 'aggregateId' | 'sequence';
  readonly attempted: string | number | undefined;
  readonly delivered: string | number | undefined;
  readonly arrival: number;
}

/** The verdict on a delivery log ({@link DeliveryRecords}). Plain data: it can be printed, logged or saved as JSON. */
export interface DeliveryReport {
  /** Distinct event ids attempted; equals committed + rolledBack + unknown. */
  readonly attempted: number;
  readonly committed: number;
  readonly rolledBack: number;
  /** Writes whose outcome is unknown (crash around commit): neither lost nor unexpected either way. */
  readonly unknown: number;
  /** How many of the unknown-outcome events did arrive. */
  readonly unknownDelivered: number;
  /** Every delivery, duplicates included. */
  readonly delivered: number;
  /** Distinct ids delivered. */
  readonly distinctDelivered: number;
  /** Committed events never delivered. */
  readonly lost: readonly Attempt[];
  /** First delivery of each id that was never attempted or whose write rolled back. */
  readonly unexpected: readonly UnexpectedDelivery[];
  readonly duplicated: readonly DuplicatedId[];
  /** Deliveries beyond the first of their id (sum of `count - 1` over `duplicated`). */
  readonly duplicateDeliveries: number;
  readonly orderViolations: readonly OrderViolation[];
  readonly mismatches: readonly DeliveryMismatch[];
  /**
   * Expected first deliveries whose sequence is known from neither the delivery nor the attempt:
   * the order check could not judge them. Not a failure, but a test that means to check order
   * should assert this is 0.
   */
  readonly withoutSequence: number;
  /** No lost, unexpected, out-of-order or mismatched deliveries. Duplicates are allowed (at least once). */
  readonly ok: boolean;
}

/**
 * Judges a log against the outbox guarantees: every committed event delivered (lost = 0), nothing
 * from a rolled-back or unknown-to-the-writers transaction delivered (unexpected = 0), duplicates
 * counted, and, per aggregate, FIRST deliveries arriving in strictly increasing sequence order.
 * A redelivery of an old event after newer ones is a duplicate, not an order violation: the inbox
 * drops it, so consumers never see the regression.
 *
 * Only expected deliveries (committed or unknown outcome) take part in the order check: an
 * unexpected one is already a failure, and a rolled-back write's sequence is reused by the next
 * committed write of its aggregate, which would add a second, misleading complaint.
 *
 * @example
 * const report = checkDeliveries(log);
 * console.log(formatReport(report, 'relay crash mid-batch'));
 * expectDeliveryOk(report);
 */
export function checkDeliveries(log: DeliveryRecords): DeliveryReport {
  const attempts = log.attempts;
  const deliveryCounts = new Map<string, number>();
  const unexpected: UnexpectedDelivery[] = [];
  const mismatches: DeliveryMismatch[] = [];
  const orderViolations: OrderViolation[] = [];
  const lastFirstDelivery = new Map<string, { id: string; sequence: number }>();
  let withoutSequence = 0;

  for (const delivery of log.deliveries) {
    const seen = deliveryCounts.get(delivery.id) ?? 0;
    deliveryCounts.set(delivery.id, seen + 1);
    if (seen > 0) continue; // only first deliveries are judged; later ones are duplicates

    const attempt = log.attemptOf(delivery.id);
    if (!attempt || attempt.outcome === 'rolled-back') {
      unexpected.push({ ...delivery, reason: attempt ? 'rolled-back' : 'never-attempted' });
      continue;
    }
    mismatches.push(...compareWithAttempt(delivery, attempt));

    const sequence = delivery.sequence ?? attempt.sequence;
    if (sequence === undefined) {
      withoutSequence++;
      continue;
    }
    const aggregate = aggregateLabel(delivery.aggregateType ?? attempt.aggregateType, delivery.aggregateId ?? attempt.aggregateId);
    const previous = lastFirstDelivery.get(aggregate);
    // Compared with the previous first delivery (not the highest so far), so 1,5,2,3,4 is one
    // violation naming the exact pair that swapped, not three.
    if (previous && sequence <= previous.sequence) {
      orderViolations.push({
        aggregate,
        previousId: previous.id,
        previousSequence: previous.sequence,
        id: delivery.id,
        sequence,
        arrival: delivery.arrival,
      });
    }
    lastFirstDelivery.set(aggregate, { id: delivery.id, sequence });
  }

  const duplicated = [...deliveryCounts].filter(([, count]) => count > 1).map(([id, count]) => ({ id, count }));
  const lost = attempts.filter((attempt) => attempt.outcome === 'committed' && !deliveryCounts.has(attempt.id));
  const unknownAttempts = attempts.filter((attempt) => attempt.outcome === 'unknown');
  return {
    attempted: attempts.length,
    committed: attempts.filter((attempt) => attempt.outcome === 'committed').length,
    rolledBack: attempts.filter((attempt) => attempt.outcome === 'rolled-back').length,
    unknown: unknownAttempts.length,
    unknownDelivered: unknownAttempts.filter((attempt) => deliveryCounts.has(attempt.id)).length,
    delivered: log.deliveries.length,
    distinctDelivered: deliveryCounts.size,
    lost,
    unexpected,
    duplicated,
    duplicateDeliveries: duplicated.reduce((sum, { count }) => sum + count - 1, 0),
    orderViolations,
    mismatches,
    withoutSequence,
    ok: lost.length === 0 && unexpected.length === 0 && orderViolations.length === 0 && mismatches.length === 0,
  };
}

/** Fields the delivery carries that disagree with the attempt; fields it leaves out are not compared. */
function compareWithAttempt(delivery: RecordedDelivery, attempt: Attempt): DeliveryMismatch[] {
  const mismatches: DeliveryMismatch[] = [];
  for (const field of ['aggregateType', 'aggregateId', 'sequence'] as const) {
    const delivered = delivery[field];
    const attempted = attempt[field];
    if (delivered !== undefined && attempted !== undefined && delivered !== attempted) {
      mismatches.push({ id: delivery.id, field, attempted, delivered, arrival: delivery.arrival });
    }
  }
  return mismatches;
}
