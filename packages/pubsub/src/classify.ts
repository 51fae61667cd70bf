import { PublishError } from '@outboxkit/core';

/** gRPC status codes (`error.code`) the classification reads. */
export const GRPC = Object.freeze({ INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, PERMISSION_DENIED: 7, UNAVAILABLE: 14, UNAUTHENTICATED: 16 });

function codeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** True when `error` is an answer of the service (a gRPC status other than "could not reach it"), not about the credentials. */
export function isServiceAnswer(error: unknown): boolean {
  const code = codeOf(error);
  return code !== undefined && code !== GRPC.UNAVAILABLE && code !== GRPC.DEADLINE_EXCEEDED && code !== GRPC.UNAUTHENTICATED;
}

/**
 * Maps an error of one publish to a {@link PublishError}. A missing or forbidden topic and refused
 * content are the event's fault (permanent); unavailable, deadline exceeded, credentials and
 * everything else are transient.
 */
export function classifyPubsubError(error: unknown, context: { eventId: string; topic: string; text: (error: unknown) => string }): PublishError {
  if (error instanceof PublishError) return error;
  const detail = context.text(error);
  const cause = { cause: error instanceof Error ? new Error(detail) : undefined, destination: context.topic };
  const what = `Pub/Sub topic "${context.topic}"`;
  switch (codeOf(error)) {
    case GRPC.NOT_FOUND:
      return new PublishError(
        'invalid-destination',
        `${what} does not exist (event ${context.eventId}); create it, or fix the event's destination or the route option`,
        cause,
      );
    case GRPC.PERMISSION_DENIED:
      return new PublishError(
        'invalid-destination',
        `the relay's identity may not publish event ${context.eventId} to ${what} (${detail}); grant roles/pubsub.publisher on it (see docs/pubsub.md)`,
        cause,
      );
    case GRPC.INVALID_ARGUMENT:
      return new PublishError(/size|too large|exceed/i.test(detail) ? 'too-large' : 'rejected', `${what} refused event ${context.eventId}: ${detail}`, cause);
    case GRPC.DEADLINE_EXCEEDED:
      return new PublishError('timeout', `${what} did not acknowledge event ${context.eventId} in time (${detail}); it will be retried`, cause);
    case GRPC.UNAVAILABLE:
    case GRPC.UNAUTHENTICATED:
      return new PublishError('connection', `cannot reach ${what} for event ${context.eventId} (${detail}); it will be retried`, cause);
    default:
      return new PublishError('unknown', `publishing event ${context.eventId} to ${what} failed: ${detail}; it will be retried`, cause);
  }
}
