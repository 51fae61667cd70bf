import type { EntityManager } from '@mikro-orm/core';
import { createEnvelopes, OutboxConfigError, type Envelope, type EventInput, type EventMap, type OneOrList, type TypedEvent } from '@outboxkit/core';
import { isOutboxSubscriber } from './outbox-subscriber.js';
import { queueEvents } from './pending-events.js';
import { assertTransactionsEnabled } from './transaction-checks.js';

/** Queues events on an EntityManager's unit of work; see {@link outbox}. */
export interface Outbox<Events extends EventMap = EventMap> {
  /**
   * Validates the event (or every event of a list) now — bad input throws `OutboxValidationError`
   * here and nothing is queued — and queues it on `em`'s unit of work. The next flush writes it
   * inside its transaction, after the entity changes, so it commits or rolls back with them.
   * Returns the envelope (a list for a list), typed by the event map; its `id` is the idempotency
   * key consumers dedupe by.
   */
  add<Input extends EventInput<Events> | readonly EventInput<Events>[]>(em: EntityManager, events: Input): OneOrList<Input, TypedEvent<Envelope, Events>>;
}

/**
 * The explicit write API. The EntityManager is resolved the way `em.persist` resolves it, so inside
 * `orm.em.transactional(...)` the global EM means the transaction's fork.
 *
 * @example
 * const order = em.create(Order, { number: 'A-1', total: 5 });
 * outbox.add(em, { aggregateType: 'order', aggregateId: 'A-1', type: 'OrderPlaced', payload: { total: 5 } });
 * await em.flush(); // order row + event row in one transaction
 */
export const outbox: Outbox = { add: add as Outbox['add'] };

function add(em: EntityManager, events: EventInput | readonly EventInput[]): Envelope | Envelope[] {
  const context = requireOutboxEm(em);
  // Every event is validated before any is queued: a bad one leaves the unit of work as it was.
  // The trace context is taken now, at the call, not later at flush time.
  const envelopes = createEnvelopes(events);
  queueEvents(context, envelopes);
  return isEventList(events) ? envelopes : envelopes[0]!;
}

function isEventList(events: EventInput | readonly EventInput[]): events is readonly EventInput[] {
  return Array.isArray(events);
}

/**
 * {@link outbox} with your event map, so `type` and `payload` are checked at compile time and the
 * returned envelopes carry them.
 *
 * @example
 * type ShopEvents = { OrderPlaced: { total: number } };
 * const shopOutbox = typedOutbox<ShopEvents>();
 * shopOutbox.add(em, { aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: { total: 5 } });
 */
export function typedOutbox<Events extends EventMap>(): Outbox<Events> {
  // The same function: an envelope is validated from its input, so it has that input's type and payload.
  return outbox as unknown as Outbox<Events>;
}

/** The EM events are queued on, after checking its ORM will actually write them. */
function requireOutboxEm(em: EntityManager): EntityManager {
  if (em === null || typeof em !== 'object' || typeof (em as Partial<EntityManager>).getContext !== 'function') {
    throw new OutboxConfigError('em', 'outbox.add(em, event) needs a MikroORM EntityManager as its first argument');
  }
  const context = em.getContext();
  const subscribers = [...context.getEventManager().getSubscribers()];
  if (!subscribers.some(isOutboxSubscriber)) {
    // Queued events nobody writes would be lost without a trace.
    throw new OutboxConfigError(
      'subscribers',
      "this EntityManager's MikroORM was not set up with the outbox: create it with MikroORM.init(withOutbox(config, { dialect }))",
    );
  }
  assertTransactionsEnabled({
    disableTransactions: context.config.get('disableTransactions'),
    implicitTransactions: context.config.get('implicitTransactions'),
  });
  return context;
}
