// The data a delivery check reads: what writers attempted and what consumers saw. Kept apart from
// the log that records it and the check that judges it, so neither imports the other's types.

/** How a writer's transaction ended, as far as the test can know. */
export type WriteOutcome = 'committed' | 'rolled-back' | 'unknown';

/** An event a test tried to write (the identity the checker needs, not the payload). */
export interface AttemptedEvent {
  id: string;
  aggregateType: string;
  /** Numbers are compared as their decimal string, as the envelope stores them. */
  aggregateId: string | number;
  /** The per-aggregate sequence the database assigned, when the writer learnt it. */
  sequence?: number;
}

/** One event as the log keeps it: the outcome that counts for its id. */
export interface Attempt {
  readonly id: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly sequence: number | undefined;
  readonly outcome: WriteOutcome;
}

/** What a consumer saw. Fields it could not read (no header) are left out. */
export interface Delivery {
  id: string;
  aggregateType?: string;
  aggregateId?: string | number;
  sequence?: number;
}

/** A delivery as the log keeps it, with its position in arrival order (0-based). */
export interface RecordedDelivery {
  readonly id: string;
  readonly aggregateType: string | undefined;
  readonly aggregateId: string | undefined;
  readonly sequence: number | undefined;
  readonly arrival: number;
}

/** What `checkDeliveries` reads: every attempt (one per id) and every delivery in arrival order. */
export interface DeliveryRecords {
  readonly attempts: readonly Attempt[];
  readonly deliveries: readonly RecordedDelivery[];
  /** The attempt recorded for `id`, if any. */
  attemptOf(id: string): Attempt | undefined;
}
