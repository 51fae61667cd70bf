import { PublishError } from '@outboxkit/core';
import { describe, expect, it } from 'vitest';
import { defaultRoute, resolveRoute } from '../src/index.js';
import { storedEvent } from './fixtures.js';

const config = { exchange: 'outbox.events', route: null };

describe('defaultRoute', () => {
  it('sends an event without destination to the configured exchange, keyed by its type', () => {
    expect(defaultRoute(storedEvent({ type: 'OrderPlaced' }), 'outbox.events')).toEqual({ exchange: 'outbox.events', routingKey: 'OrderPlaced' });
  });

  it('reads a destination without "/" as a routing key on the configured exchange', () => {
    expect(defaultRoute(storedEvent({ destination: 'orders.eu' }), 'outbox.events')).toEqual({ exchange: 'outbox.events', routingKey: 'orders.eu' });
  });

  it('reads "exchange/key" as an exchange and a routing key, split at the first "/"', () => {
    expect(defaultRoute(storedEvent({ destination: 'billing/invoice/paid' }), 'outbox.events')).toEqual({
      exchange: 'billing',
      routingKey: 'invoice/paid',
    });
    expect(defaultRoute(storedEvent({ destination: 'audit/' }), 'outbox.events')).toEqual({ exchange: 'audit', routingKey: '' });
  });

  it('reads "/queue" as the default exchange, straight to that queue', () => {
    expect(defaultRoute(storedEvent({ destination: '/payments' }), 'outbox.events')).toEqual({ exchange: '', routingKey: 'payments' });
  });
});

describe('resolveRoute', () => {
  it('uses the custom route when given', () => {
    const route = resolveRoute(storedEvent({ aggregateType: 'invoice', type: 'Paid' }), {
      exchange: 'outbox.events',
      route: (event) => ({ exchange: 'billing', routingKey: `${event.aggregateType}.${event.type}` }),
    });
    expect(route).toEqual({ exchange: 'billing', routingKey: 'invoice.Paid' });
  });

  it.each([
    ['an exchange name with forbidden characters', { exchange: 'bad name!', routingKey: 'k' }],
    ['a routing key over 255 bytes', { exchange: 'x', routingKey: 'é'.repeat(128) }],
    ['a result of the wrong shape', { exchange: 'x' }],
    ['no result', undefined],
  ])('turns %s into a permanent invalid-destination', (_, result) => {
    const event = storedEvent();
    const attempt = () => resolveRoute(event, { exchange: 'outbox.events', route: () => result as never });
    expect(attempt).toThrow(PublishError);
    try {
      attempt();
    } catch (err) {
      expect((err as PublishError).reason).toBe('invalid-destination');
      expect((err as PublishError).permanent).toBe(true);
      expect((err as PublishError).message).toContain(event.id);
    }
  });

  it('turns a throwing route into invalid-destination and keeps the cause', () => {
    const bug = new Error('no tenant');
    try {
      resolveRoute(storedEvent(), {
        exchange: 'outbox.events',
        route: () => {
          throw bug;
        },
      });
      expect.unreachable();
    } catch (err) {
      expect((err as PublishError).reason).toBe('invalid-destination');
      expect((err as PublishError).cause).toBe(bug);
    }
  });

  it('rejects a destination naming an impossible exchange', () => {
    expect(() => resolveRoute(storedEvent({ destination: 'a b/c' }), config)).toThrow(/not a valid exchange name/);
  });
});
