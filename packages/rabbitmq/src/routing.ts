import { PublishError, type StoredEvent } from '@outboxkit/core';

/** Where one message goes. `exchange: ''` is the default exchange (routing key = queue name). */
export interface Route {
  readonly exchange: string;
  readonly routingKey: string;
}

// The AMQP 0-9-1 exchange-name alphabet. RabbitMQ accepts more, but '/' must stay out so that
// `exchange/routingKey` destinations are unambiguous.
const EXCHANGE_NAME = /^[A-Za-z0-9_.:-]{1,255}$/;
// Routing keys are AMQP short strings: at most 255 bytes.
const MAX_ROUTING_KEY_BYTES = 255;

/** True for a name the publisher can declare or publish to (not the default exchange `''`). */
export function isExchangeName(value: unknown): value is string {
  return typeof value === 'string' && EXCHANGE_NAME.test(value);
}

/**
 * The default routing rule:
 * - no destination: `exchange`, routing key = event type;
 * - `"name/key"`: exchange `name`, routing key `key` (split at the first `/`);
 *   `"/queue"` is the default exchange, so the message goes straight to queue `queue`;
 * - `"key"` (no `/`): routing key `key` on `exchange`.
 *
 * @example
 * defaultRoute(event, 'outbox.events'); // destination 'billing/invoice.paid' -> { exchange: 'billing', routingKey: 'invoice.paid' }
 */
export function defaultRoute(event: StoredEvent, exchange: string): Route {
  const destination = event.destination;
  if (destination === null) return { exchange, routingKey: event.type };
  const slash = destination.indexOf('/');
  if (slash === -1) return { exchange, routingKey: destination };
  return { exchange: destination.slice(0, slash), routingKey: destination.slice(slash + 1) };
}

/**
 * Applies the custom `route` or the default rule and checks the result. A route the broker
 * could never accept is a property of the event, so it fails as a permanent
 * `invalid-destination` rather than closing the publishing channel.
 */
export function resolveRoute(event: StoredEvent, config: { readonly exchange: string; readonly route: ((event: StoredEvent) => Route) | null }): Route {
  let route: unknown;
  try {
    route = config.route ? config.route(event) : defaultRoute(event, config.exchange);
  } catch (err) {
    throw new PublishError('invalid-destination', `the route option threw for event ${event.id}: ${errorText(err)}; fix the routing rule`, {
      cause: err,
    });
  }
  return checkRoute(route, event);
}

function checkRoute(route: unknown, event: StoredEvent): Route {
  const { exchange, routingKey } = (route ?? {}) as Partial<Route>;
  if (typeof exchange !== 'string' || typeof routingKey !== 'string') {
    throw new PublishError('invalid-destination', `the route for event ${event.id} must be { exchange: string, routingKey: string }; fix the route option`);
  }
  if (exchange !== '' && !isExchangeName(exchange)) {
    throw new PublishError(
      'invalid-destination',
      `event ${event.id} routes to exchange ${JSON.stringify(exchange)}, which is not a valid exchange name ` +
        '(letters, digits, "-", "_", ".", ":"; or empty for the default exchange)',
    );
  }
  if (Buffer.byteLength(routingKey) > MAX_ROUTING_KEY_BYTES) {
    throw new PublishError(
      'invalid-destination',
      `event ${event.id} has a routing key of ${Buffer.byteLength(routingKey)} bytes; AMQP allows at most ${MAX_ROUTING_KEY_BYTES}`,
    );
  }
  return { exchange, routingKey };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
