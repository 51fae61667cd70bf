import { PublishError, type StoredEvent } from '@outboxkit/core';

// Redis keys may hold any bytes; these limits only keep stream names readable and bounded.
const MAX_KEY_BYTES = 1024;

/**
 * The default routing rule: `event.destination` when it is set (a whole stream key), otherwise
 * one stream per aggregate type, `<streamPrefix>:<aggregateType>`. Every event of one aggregate
 * lands in one stream, so the stream's order is the aggregate's order.
 *
 * @example
 * defaultStream(event, 'outbox'); // 'outbox:order'
 */
export function defaultStream(event: StoredEvent, streamPrefix: string): string {
  return event.destination ?? `${streamPrefix}:${event.aggregateType}`;
}

/** Applies the custom `route` or the default rule; a key Redis should not get is a permanent `invalid-destination`. */
export function resolveStream(event: StoredEvent, config: { readonly streamPrefix: string; readonly route: ((event: StoredEvent) => string) | null }): string {
  let key: unknown;
  try {
    key = config.route ? config.route(event) : defaultStream(event, config.streamPrefix);
  } catch (error) {
    throw new PublishError(
      'invalid-destination',
      `the route option threw for event ${event.id}: ${error instanceof Error ? error.message : String(error)}; fix the routing rule`,
      { cause: error },
    );
  }
  if (typeof key !== 'string' || key.trim() === '' || Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new PublishError(
      'invalid-destination',
      `event ${event.id} routes to ${JSON.stringify(key)}, which is not a usable stream key (1-${MAX_KEY_BYTES} bytes, not blank)`,
    );
  }
  return key;
}
