import { PublishError } from '@outboxkit/core';

/** Error codes (the SDK's `error.name`) that are properties of the event or its destination. */
const MISSING_DESTINATION = new Set(['QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'NotFoundException', 'NotFound']);
const REFUSED_CONTENT = new Set([
  'InvalidParameterValue',
  'InvalidParameterException',
  'InvalidMessageContents',
  'InvalidAttributeName',
  'InvalidAttributeValue',
  'InvalidParameterValueException',
  'ParameterValueInvalid',
]);
/** The destination refuses this caller: a policy to fix, not something a retry changes. */
const FORBIDDEN = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'AuthorizationError',
  'AuthorizationErrorException',
  'KMSAccessDenied',
  'KMSAccessDeniedException',
]);
/** The request's signature or keys are refused: the publisher's own configuration, transient for each event. */
const CREDENTIALS = new Set([
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSecurity',
  'MissingAuthenticationToken',
  'CredentialsProviderError',
]);

/** True when `error` is the service's answer (it has an HTTP status), not a failure to reach it. */
export function isServiceReply(error: unknown): boolean {
  return typeof (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode === 'number';
}

/** True for errors about the credentials (wrong, expired, none found). */
export function isCredentialError(error: unknown): boolean {
  return error instanceof Error && CREDENTIALS.has(error.name);
}

/** What the publisher knows about a failed send, to word the error. */
export interface AwsFailureContext {
  readonly service: 'SQS' | 'SNS';
  readonly eventId: string;
  /** The queue or topic, as the user named it. */
  readonly destination: string;
  readonly text: (error: unknown) => string;
}

/**
 * Maps an error of one SendMessage / Publish (or one failed entry of a batch) to a
 * {@link PublishError}. Only what is known to be the event's fault is permanent: the
 * destination missing or forbidden, the content refused. Throttling, 5xx, credentials and
 * network failures are transient and must not burn the event's attempts.
 */
export function classifyAwsError(error: unknown, context: AwsFailureContext): PublishError {
  if (error instanceof PublishError) return error;
  const code = error instanceof Error ? error.name : '';
  const detail = context.text(error);
  const cause = { cause: error instanceof Error ? new Error(detail) : undefined, destination: context.destination };
  const what = `${context.service} ${context.service === 'SQS' ? 'queue' : 'topic'} "${context.destination}"`;
  if (MISSING_DESTINATION.has(code)) {
    return new PublishError(
      'invalid-destination',
      `${what} does not exist (event ${context.eventId}); create it, or fix the event's destination or the route option`,
      cause,
    );
  }
  if (REFUSED_CONTENT.has(code) || code === 'MessageTooLong' || code === 'BatchRequestTooLong') {
    if (/too long|shorter than|too large|size/i.test(detail)) {
      return new PublishError(
        'too-large',
        `${what} refused event ${context.eventId} as too large (${detail}); store large data elsewhere and put a reference in the payload, or lower maxMessageBytes to the destination's limit`,
        cause,
      );
    }
    return new PublishError('rejected', `${what} refused event ${context.eventId}: ${detail}`, cause);
  }
  if (FORBIDDEN.has(code)) {
    return new PublishError(
      'invalid-destination',
      `the relay's AWS identity may not send event ${context.eventId} to ${what} (${detail}); grant ${context.service === 'SQS' ? 'sqs:SendMessage' : 'sns:Publish'} on it (see docs/sqs.md)`,
      cause,
    );
  }
  if (CREDENTIALS.has(code)) {
    return new PublishError('connection', `${context.service} refused the relay's credentials (${detail}); event ${context.eventId} stays pending`, cause);
  }
  if (isServiceReply(error)) {
    return new PublishError('unknown', `${what} failed event ${context.eventId}: ${detail}; it will be retried`, cause);
  }
  return new PublishError(
    'connection',
    `the request to ${what} failed before it was acknowledged (${detail}); event ${context.eventId} will be retried`,
    cause,
  );
}
