import { isExpired, type StoredEvent } from './envelope.js';
import type { PublishError } from './errors.js';
import type { RelayObserver } from './observer.js';
import { publishInAggregateOrder } from './ordered-publish.js';
import type { Publisher } from './publisher.js';
import type { BatchOutcome } from './settlement.js';

/** A published batch's outcomes, sorted for settlement. */
export interface PublishOutcome extends BatchOutcome {
  readonly confirmed: StoredEvent[];
  readonly failures: { event: StoredEvent; error: PublishError }[];
  readonly expired: StoredEvent[];
  /** The first transient failure: the broker, not an event, is at fault. */
  transient: { readonly cause: unknown } | null;
}

/**
 * Publishes `batch` in aggregate order and sorts the outcomes, for both the polling relay and the
 * logical reader: a permanent failure ends its aggregate's chain for this batch; a transient one
 * starts nothing new (the broker is at fault). An event past its `expiresAt` (this process's
 * clock, right before its send) is withheld and ends its chain too: settling quarantines it, and
 * the poison policy decides its aggregate.
 */
export async function publishBatch(
  publisher: Publisher,
  batch: readonly StoredEvent[],
  maxInFlight: number,
  observer: RelayObserver,
  onPermanentFailure?: (event: StoredEvent, error: PublishError) => void,
): Promise<PublishOutcome> {
  const outcome: PublishOutcome = { confirmed: [], failures: [], expired: [], transient: null };
  await publishInAggregateOrder(publisher, batch, maxInFlight, {
    withhold: (event) => {
      if (!isExpired(event, Date.now())) return false;
      outcome.expired.push(event);
      return true;
    },
    confirmed: (event) => {
      outcome.confirmed.push(event);
      observer.published?.(event, new Date());
    },
    failed: (event, error) => {
      const permanent = isPermanentPublishError(error);
      observer.failed?.(event, error as Error, permanent);
      if (permanent) {
        outcome.failures.push({ event, error });
        onPermanentFailure?.(event, error);
        return 'end-chain';
      }
      outcome.transient ??= { cause: error };
      return 'stop';
    },
  });
  return outcome;
}

export function isPublishError(error: unknown): error is PublishError {
  return typeof error === 'object' && error !== null && (error as PublishError).code === 'OUTBOX_PUBLISH';
}

function isPermanentPublishError(error: unknown): error is PublishError {
  return isPublishError(error) && error.permanent === true;
}
