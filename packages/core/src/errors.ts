/**
 * Every error outboxkit throws is an {@link OutboxError} with a stable `code`, so callers can
 * branch on `err.code` without string-matching messages.
 */
export class OutboxError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** A configuration value is missing or out of range. The message names the option and the fix. */
export class OutboxConfigError extends OutboxError {
  readonly option: string;
  constructor(option: string, message: string, options?: { cause?: unknown }) {
    super('OUTBOX_CONFIG', `${option}: ${message}`, options);
    this.option = option;
  }
}

/** An event failed validation at creation; nothing was written. `field` names the culprit. */
export class OutboxValidationError extends OutboxError {
  readonly field: string;
  constructor(field: string, message: string) {
    super('OUTBOX_INVALID_EVENT', `event.${field}: ${message}`);
    this.field = field;
  }
}

/**
 * An outbox write was attempted without an open transaction. Writing outside the business
 * transaction would bring the dual-write problem back, so there is no auto-commit fallback.
 */
export class OutboxTransactionRequiredError extends OutboxError {
  constructor(message: string) {
    super('OUTBOX_TRANSACTION_REQUIRED', message);
  }
}

/** Why a publish failed. Permanent reasons burn an attempt; transient ones open the breaker. */
export type PublishFailureReason =
  | 'unroutable'
  | 'rejected'
  | 'too-large'
  | 'invalid-destination'
  | 'timeout'
  | 'connection'
  /** The broker refused the relay's user (RabbitMQ ACCESS_REFUSED): a configuration failure, retried like a transient one. */
  | 'permission'
  | 'unknown';

const PERMANENT_REASONS: ReadonlySet<PublishFailureReason> = new Set(['unroutable', 'rejected', 'too-large', 'invalid-destination']);

/**
 * A broker did not confirm an event. `permanent` failures are properties of the event (no queue
 * bound for its route, too large) and are retried with backoff, then quarantined; transient
 * failures are properties of the broker (down, slow) and never count against the event.
 */
export class PublishError extends OutboxError {
  readonly reason: PublishFailureReason;
  readonly permanent: boolean;
  /**
   * Where the event was going, in the broker's words (`exchange "x" with routing key "k"`), when
   * the failure is about the destination. The relay warns once per reason and destination.
   */
  readonly destination: string | undefined;
  constructor(reason: PublishFailureReason, message: string, options?: { cause?: unknown; destination?: string }) {
    super('OUTBOX_PUBLISH', message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.reason = reason;
    this.permanent = PERMANENT_REASONS.has(reason);
    this.destination = options?.destination;
  }
}
