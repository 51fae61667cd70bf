import type { StoredEvent } from './envelope.js';
import type { Publisher } from './publisher.js';

/**
 * What the caller of {@link publishInAggregateOrder} does with each outcome. Both hooks run
 * synchronously between publishes; they decide, the routine only schedules.
 */
export interface OrderedPublishHandler<E extends StoredEvent> {
  /** The broker confirmed `event`. */
  confirmed(event: E): void;
  /**
   * Publishing `event` failed. Its aggregate's chain ends here either way, so nothing of that
   * aggregate overtakes it. `'stop'` also starts no new publish of any aggregate (publishes
   * already awaiting a confirm finish and are reported); `'end-chain'` lets the others go on.
   */
  failed(event: E, error: unknown): 'end-chain' | 'stop';
  /**
   * Asked right before `event` is sent: true holds it back, unpublished, and ends its
   * aggregate's chain for this call as a failure would (the relay withholds expired events).
   */
  withhold?(event: E): boolean;
}

/**
 * The identity of an event's aggregate. JSON of the pair: no separator character can make two
 * different aggregates collide.
 */
export function aggregateKey(event: Pick<StoredEvent, 'aggregateType' | 'aggregateId'>): string {
  return JSON.stringify([event.aggregateType, event.aggregateId]);
}

/**
 * Publishes `events` with up to `maxInFlight` confirms outstanding across aggregates, while each
 * aggregate's events go strictly one after another in sequence order: event n+1 is sent only
 * after n was confirmed. The relay publishes its batches this way and replay its pages, so a
 * replayed stream is ordered exactly as the live one was.
 */
export async function publishInAggregateOrder<E extends StoredEvent>(
  publisher: Publisher,
  events: readonly E[],
  maxInFlight: number,
  handler: OrderedPublishHandler<E>,
): Promise<void> {
  const chains = [...groupByAggregate(events).values()];
  let stopped = false;
  const worker = async (): Promise<void> => {
    for (let chain = chains.shift(); chain && !stopped; chain = chains.shift()) {
      for (const event of chain) {
        if (stopped) return;
        if (handler.withhold?.(event)) break;
        try {
          await publisher.publish(event);
        } catch (error) {
          if (handler.failed(event, error) === 'stop') stopped = true;
          break;
        }
        handler.confirmed(event);
      }
    }
  };
  // At least one worker, so a caller's out-of-range maxInFlight slows publishing, never skips it.
  await Promise.all(Array.from({ length: Math.min(Math.max(1, maxInFlight), chains.length) }, worker));
}

function groupByAggregate<E extends StoredEvent>(events: readonly E[]): Map<string, E[]> {
  const chains = new Map<string, E[]>();
  for (const event of events) {
    const key = aggregateKey(event);
    const chain = chains.get(key);
    if (chain) chain.push(event);
    else chains.set(key, [event]);
  }
  for (const chain of chains.values()) chain.sort((a, b) => a.sequence - b.sequence);
  return chains;
}
