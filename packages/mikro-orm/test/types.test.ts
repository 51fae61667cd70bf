import type { EntityManager, ChangeSet } from '@mikro-orm/core';
import type { Envelope, EventInput, JsonValue, TypedEvent } from '@outboxkit/core';
import { describe, expectTypeOf, it } from 'vitest';
import { outbox, outboxRule, typedOutbox, type OutboxRule } from '../src/index.js';
import { InvoiceSchema, type Invoice } from './support/entities.js';

// Checked by `tsc -p tsconfig.test.json`: a wrong event type or payload must not compile.
type ShopEvents = {
  OrderPlaced: { orderId: string; total: number };
  OrderCancelled: { orderId: string; reason: string };
};

declare const em: EntityManager;
const shop = typedOutbox<ShopEvents>();

describe('typed events (core EventMap)', () => {
  it('typedOutbox checks type and payload against the event map and returns envelopes of the map', () => {
    // Only type positions: nothing here runs against a database.
    const add = () => {
      const one = shop.add(em, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', total: 5 } });
      expectTypeOf(one).toEqualTypeOf<TypedEvent<Envelope, ShopEvents>>();
      expectTypeOf(one.type).toEqualTypeOf<'OrderPlaced' | 'OrderCancelled'>();
      // `type` narrows `payload`, with no cast.
      if (one.type === 'OrderPlaced') expectTypeOf(one.payload.total).toEqualTypeOf<number>();
      expectTypeOf(
        shop.add(em, [
          { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', total: 5 } },
          { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderCancelled', payload: { orderId: 'o-1', reason: 'customer' } },
        ]),
      ).toEqualTypeOf<TypedEvent<Envelope, ShopEvents>[]>();
      // One signature: one event or a list; a list of unknown length gives a list.
      expectTypeOf(shop.add).parameter(1).toEqualTypeOf<EventInput<ShopEvents> | readonly EventInput<ShopEvents>[]>();
      const list: EventInput<ShopEvents>[] = [];
      expectTypeOf(shop.add(em, list)).toEqualTypeOf<TypedEvent<Envelope, ShopEvents>[]>();
      // @ts-expect-error unknown event type
      shop.add(em, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderShipped', payload: { orderId: 'o-1' } });
      // @ts-expect-error payload of the wrong event
      shop.add(em, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', reason: 'x' } });
      // @ts-expect-error total must be a number
      shop.add(em, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { orderId: 'o-1', total: '5' } });
    };
    expectTypeOf(add).toBeFunction();
  });

  it('outbox.add without an event map takes any type and JSON payload and returns the plain envelope', () => {
    const add = () => {
      const envelope = outbox.add(em, { aggregateType: 'x', aggregateId: 1, type: 'anything', payload: [1, 'two'] });
      expectTypeOf(envelope).toEqualTypeOf<Envelope>();
      expectTypeOf(envelope.type).toEqualTypeOf<string>();
      expectTypeOf(envelope.payload).toEqualTypeOf<JsonValue>();
      expectTypeOf(outbox.add(em, [{ aggregateType: 'x', aggregateId: 1, type: 'anything', payload: null }])).toEqualTypeOf<Envelope[]>();
      // @ts-expect-error the EntityManager comes first
      outbox.add({ aggregateType: 'x', aggregateId: 1, type: 'anything', payload: null });
    };
    expectTypeOf(add).toBeFunction();
  });

  it('outboxRule infers the entity from its EntitySchema and checks the event against the map', () => {
    const rule = outboxRule<Invoice, ShopEvents>({
      entity: InvoiceSchema,
      on: ['create', 'update'],
      event: (invoice, change) => {
        expectTypeOf(invoice).toEqualTypeOf<Invoice>();
        expectTypeOf(change).toEqualTypeOf<ChangeSet<Invoice>>();
        return { aggregateType: 'order', aggregateId: invoice.id, type: 'OrderPlaced', payload: { orderId: String(invoice.id), total: invoice.amount } };
      },
    });
    expectTypeOf(rule).toEqualTypeOf<OutboxRule<Invoice, ShopEvents>>();
    const inferred = outboxRule({
      entity: InvoiceSchema,
      on: ['delete'],
      event: (invoice) => (invoice.code === '' ? null : { aggregateType: 'invoice', aggregateId: invoice.id, type: 'InvoiceDeleted', payload: null }),
    });
    expectTypeOf(inferred.event).parameter(0).toEqualTypeOf<Invoice>();
    expectTypeOf(inferred.event).returns.toEqualTypeOf<EventInput | null>();
    outboxRule<Invoice, ShopEvents>({
      entity: InvoiceSchema,
      // @ts-expect-error 'insert' is not a change kind
      on: ['insert'],
      event: () => null,
    });
    outboxRule<Invoice, ShopEvents>({
      entity: InvoiceSchema,
      on: ['create'],
      // @ts-expect-error the rule's event must be in the map
      event: (invoice) => ({ aggregateType: 'invoice', aggregateId: invoice.id, type: 'InvoiceCreated', payload: null }),
    });
  });
});
