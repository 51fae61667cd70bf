import { PublishError } from '@outboxkit/core';

/**
 * JetStream API error codes (`err_code`) that are properties of the event, not of the broker.
 * Server 2.9: 10054 message larger than the stream's max_msg_size; 10077 the store refused it
 * (a stream at its limits with `discard: new`); 10059/10060 no such stream / a different one.
 */
const PERMANENT_API_CODES: ReadonlyMap<number, 'too-large' | 'rejected' | 'invalid-destination'> = new Map([
  [10054, 'too-large'],
  [10077, 'rejected'],
  [10059, 'invalid-destination'],
  [10060, 'invalid-destination'],
]);

const CONNECTION_ERRORS = new Set([
  'ClosedConnectionError',
  'DrainingConnectionError',
  'ConnectionError',
  'AuthorizationError',
  'UserAuthenticationExpiredError',
]);

/** What the publisher knows about a failed publish, to word the error. */
export interface NatsFailureContext {
  readonly eventId: string;
  readonly subject: string;
  /** Removes credentials from driver messages. */
  readonly text: (error: unknown) => string;
}

/**
 * Maps an error from a JetStream publish to a {@link PublishError}. Anything not known to be the
 * event's fault is transient: it must not burn the event's attempts and quarantine it.
 */
export function classifyNatsError(error: unknown, context: NatsFailureContext): PublishError {
  if (error instanceof PublishError) return error;
  const name = error instanceof Error ? error.name : '';
  const detail = context.text(error);
  const cause = { cause: error };
  if (name === 'JetStreamApiError' || name === 'StreamNotFoundError') {
    const code = (error as { code?: unknown }).code;
    const reason = typeof code === 'number' ? PERMANENT_API_CODES.get(code) : undefined;
    if (reason !== undefined) {
      return new PublishError(
        reason,
        `JetStream refused event ${context.eventId} on subject "${context.subject}" (${detail}, err_code ${String(code)})`,
        cause,
      );
    }
    return new PublishError(
      'unknown',
      `JetStream failed event ${context.eventId} on subject "${context.subject}": ${detail} (err_code ${String(code)}); it will be retried`,
      cause,
    );
  }
  if (name === 'InvalidArgumentError' && /max_payload/.test(detail)) {
    return new PublishError(
      'too-large',
      `event ${context.eventId} is larger than the server's max_payload; store large data elsewhere and put a reference in the payload, or raise max_payload`,
      cause,
    );
  }
  if (name === 'TimeoutError') {
    return new PublishError(
      'timeout',
      `JetStream did not acknowledge event ${context.eventId} on subject "${context.subject}" in time; it will be retried`,
      cause,
    );
  }
  if (CONNECTION_ERRORS.has(name)) {
    return new PublishError('connection', `the NATS connection failed before event ${context.eventId} was acknowledged (${detail}); it will be retried`, cause);
  }
  if (name === 'PermissionViolationError') {
    return new PublishError(
      'invalid-destination',
      `NATS refused to let this user publish event ${context.eventId} to "${context.subject}" (${detail}); grant publish permission or fix the routing`,
      cause,
    );
  }
  return new PublishError('unknown', `publishing event ${context.eventId} to "${context.subject}" failed: ${detail}; it will be retried`, cause);
}

/** True for the client's "no responders" outcome: nothing (no stream) listens on the subject. */
export function isNoResponders(error: unknown): boolean {
  for (let current = error; current instanceof Error; current = current.cause) {
    if (current.name === 'NoResponders' || (current.name === 'RequestError' && (current as { isNoResponders?: () => boolean }).isNoResponders?.())) return true;
  }
  return false;
}
