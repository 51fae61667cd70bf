import { PublishError, type StoredEvent } from '@outboxkit/core';

// Dot-separated tokens, none empty, without white space or the wildcards "*" and ">": a subject
// a publisher may send to (wildcards are for subscriptions).
const SUBJECT = /^[^\s.*>]+(\.[^\s.*>]+)*$/;
// The server reads a whole protocol line of at most 4 KiB; the subject shares it with headers' size fields.
const MAX_SUBJECT_LENGTH = 1024;
const STREAM_NAME = /^[^\s.*>/\\]{1,255}$/;

export function isSubjectPrefix(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 255 && SUBJECT.test(value);
}

export function isStreamName(value: unknown): value is string {
  return typeof value === 'string' && STREAM_NAME.test(value);
}

/**
 * The default routing rule: `event.destination` when it is set (a whole subject), otherwise
 * `<subjectPrefix>.<aggregateType>.<type>`.
 *
 * @example
 * defaultSubject(event, 'outbox'); // 'outbox.order.order.placed'
 */
export function defaultSubject(event: StoredEvent, subjectPrefix: string): string {
  return event.destination ?? `${subjectPrefix}.${event.aggregateType}.${event.type}`;
}

/**
 * Applies the custom `route` or the default rule and checks the subject. A subject NATS could
 * never accept is a property of the event: a permanent `invalid-destination`.
 */
export function resolveSubject(
  event: StoredEvent,
  config: { readonly subjectPrefix: string; readonly route: ((event: StoredEvent) => string) | null },
): string {
  let subject: unknown;
  try {
    subject = config.route ? config.route(event) : defaultSubject(event, config.subjectPrefix);
  } catch (error) {
    throw new PublishError(
      'invalid-destination',
      `the route option threw for event ${event.id}: ${error instanceof Error ? error.message : String(error)}; fix the routing rule`,
      { cause: error },
    );
  }
  if (typeof subject !== 'string' || subject.length > MAX_SUBJECT_LENGTH || !SUBJECT.test(subject)) {
    throw new PublishError(
      'invalid-destination',
      `event ${event.id} routes to ${JSON.stringify(typeof subject === 'string' ? subject.slice(0, 80) : subject)}, which is not a NATS subject ` +
        '(dot-separated tokens without spaces, "*" or ">"); fix the event\'s type, aggregateType or destination, or the route option',
    );
  }
  return subject;
}
