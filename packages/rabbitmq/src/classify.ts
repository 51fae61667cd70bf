import { PublishError, scrub } from '@outboxkit/core';

// rabbitmq-client codes for "the channel or connection went away", and Node socket errno codes.
const CONNECTION_CODES = new Set([
  'CH_CLOSE',
  'CLOSING',
  'CLOSED',
  'CONN_CLOSE',
  'CONNECTION_TIMEOUT',
  'SOCKET_TIMEOUT',
  'CONNECTION_FORCED',
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What the publisher knows about a failed send, to word the error. */
export interface SendFailureContext {
  readonly eventId: string;
  /** `exchange "x" with routing key "k"` */
  readonly target: string;
  /** Strings to remove from driver messages (password, URL). */
  readonly secrets: readonly string[];
}

/**
 * Maps an error from rabbitmq-client's `send()` to a {@link PublishError}, keeping it as `cause`.
 * NOT_FOUND is not handled here: it needs a broker round trip to tell whose fault it was
 * (see ExchangeDirectory).
 */
export function classifySendError(err: unknown, context: SendFailureContext): PublishError {
  if (err instanceof PublishError) return err;
  const code = codeOf(err);
  const detail = scrub(err instanceof Error ? err.message : String(err), context.secrets);
  if (code === 'NACK') {
    return new PublishError(
      'rejected',
      `RabbitMQ refused event ${context.eventId} sent to ${context.target} (basic.nack: ${detail}); ` +
        'check the queue limits (x-max-length with reject-publish) and the broker log',
      { cause: err },
    );
  }
  if (code === 'TIMEOUT') {
    return new PublishError('timeout', `could not open a channel for event ${context.eventId} in time: ${detail}`, { cause: err });
  }
  if (code === 'ACCESS_REFUSED') {
    // A configuration failure, not the event's: it must not burn attempts, and no retry fixes it.
    return new PublishError(
      'permission',
      `RabbitMQ refused to let the relay's user publish event ${context.eventId} to ${context.target} (${detail}); ` +
        'grant the user write permission on that exchange (rabbitmqctl set_permissions -p <vhost> <user> <configure> <write> <read>)',
      { cause: err },
    );
  }
  if (code !== undefined && CONNECTION_CODES.has(code)) {
    return new PublishError(
      'connection',
      `the connection or channel to RabbitMQ closed before event ${context.eventId} was confirmed (${detail}); it will be retried`,
      { cause: err },
    );
  }
  // Transient on purpose: an error we cannot attribute to the event must not burn its attempts
  // and quarantine it. The breaker pauses and retries instead, and the cause is in the message.
  return new PublishError('unknown', `publishing event ${context.eventId} to ${context.target} failed unexpectedly: ${detail}${code ? ` [${code}]` : ''}`, {
    cause: err,
  });
}

export function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
