import type { StoredEvent } from '../envelope.js';
import type { Publisher } from '../publisher.js';

/** What {@link publishInAggregateOrder} did. */
export interface OrderedPublishResult {
  /** Events the broker confirmed. */
  readonly sent: number;
  /** The first failure, with the event it concerned; later events of that aggregate were not sent. */
  readonly failure: { readonly event: StoredEvent; readonly error: unknown } | null;
}

/**
 * Publishes `events` (already in position order) with up to `maxInFlight` confirms outstanding
 * across aggregates, while each aggregate's events go strictly one after another: event n+1 is
 * sent only after n was confirmed, exactly as the relay does. On the first failure nothing new
 * is started, so a broker outage stops a replay instead of skipping through it.
 */
export async function publishInAggregateOrder(
  publisher: Publisher,
  events: readonly StoredEvent[],
  maxInFlight: number,
): Promise<OrderedPublishResult> {
  const chains = new Map<string, StoredEvent[]>();
  for (const event of events) {
    // JSON of the pair: no separator character can make two different aggregates collide.
    const key = JSON.stringify([event.aggregateType, event.aggregateId]);
    const chain = chains.get(key);
    if (chain) chain.push(event);
    else chains.set(key, [event]);
  }
  const queue = [...chains.values()];
  let sent = 0;
  let failure: OrderedPublishResult['failure'] = null;
  const worker = async (): Promise<void> => {
    for (let chain = queue.shift(); chain && failure === null; chain = queue.shift()) {
      for (const event of chain) {
        if (failure !== null) return;
        try {
          await publisher.publish(event);
          sent++;
        } catch (error) {
          failure ??= { event, error };
          return;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(maxInFlight, queue.length)) }, worker));
  return { sent, failure };
}
