import { PublishError } from '@outboxkit/core';
import { ErrorReply } from 'redis';

/**
 * Maps an error from `XADD` to a {@link PublishError}. Only a stream key that cannot hold a
 * stream (`WRONGTYPE`) or a user who may not write it (`NOPERM`) is the event's fault; anything
 * else (offline, `OOM`, `LOADING`, `READONLY` replica) is transient and must not burn attempts.
 */
export function classifyRedisError(error: unknown, context: { eventId: string; stream: string; text: (error: unknown) => string }): PublishError {
  if (error instanceof PublishError) return error;
  const detail = context.text(error);
  const cause = { cause: error };
  if (error instanceof ErrorReply) {
    if (/^WRONGTYPE/.test(error.message)) {
      return new PublishError(
        'invalid-destination',
        `key "${context.stream}" holds something other than a stream (event ${context.eventId}: ${detail}); route the event to another key`,
        cause,
      );
    }
    if (/^NOPERM/.test(error.message)) {
      return new PublishError(
        'invalid-destination',
        `this Redis user may not add to "${context.stream}" (event ${context.eventId}: ${detail}); grant +xadd on the key or fix the routing`,
        cause,
      );
    }
    return new PublishError('unknown', `Redis refused XADD of event ${context.eventId} to "${context.stream}": ${detail}; it will be retried`, cause);
  }
  return new PublishError('connection', `the Redis connection failed before event ${context.eventId} was acknowledged (${detail}); it will be retried`, cause);
}
