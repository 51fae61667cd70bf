import { describe, expect, it } from 'vitest';
import { aggregateKey, publishInAggregateOrder, PublishError, type Publisher, type StoredEvent } from '@outboxkit/core';
import { storedEvent } from '@outboxkit/testkit';

// Which publishes are outstanding at once cannot be observed deterministically on a real broker
// (confirms come back as fast as it likes), so this publisher holds every confirm until the test
// settles it. Ordering against RabbitMQ is covered by the relay and replay tests.
class HeldConfirms implements Publisher {
  readonly started: string[] = [];
  private readonly held = new Map<string, { resolve: () => void; reject: (error: unknown) => void }>();

  publish(event: StoredEvent): Promise<void> {
    this.started.push(event.id);
    return new Promise((resolve, reject) => this.held.set(event.id, { resolve, reject }));
  }

  get outstanding(): string[] {
    return [...this.held.keys()];
  }

  /** Confirms (or fails) one held publish and lets the routine react. */
  async settle(id: string, error?: unknown): Promise<void> {
    const confirm = this.held.get(id);
    if (!confirm) throw new Error(`${id} is not awaiting a confirm (outstanding: ${this.outstanding.join(', ')})`);
    this.held.delete(id);
    if (error === undefined) confirm.resolve();
    else confirm.reject(error);
    await new Promise((resolve) => setImmediate(resolve));
  }

  isConnected(): boolean {
    return true;
  }

  async close(): Promise<void> {}
}

function event(aggregateType: string, aggregateId: string, sequence: number): StoredEvent {
  // Names set after validation, so the test can use characters a real event may not carry.
  return { ...storedEvent({}, sequence), aggregateType, aggregateId, id: `${aggregateType}/${aggregateId}#${sequence}` };
}

function recorder(onFailure: 'end-chain' | 'stop') {
  const seen = { confirmed: [] as string[], failed: [] as string[] };
  return {
    seen,
    handler: {
      confirmed: (e: StoredEvent) => void seen.confirmed.push(e.id),
      failed: (e: StoredEvent) => {
        seen.failed.push(e.id);
        return onFailure;
      },
    },
  };
}

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('publishInAggregateOrder', () => {
  it('keeps up to maxInFlight aggregates in flight, each one event at a time in sequence order', async () => {
    const publisher = new HeldConfirms();
    const { seen, handler } = recorder('end-chain');
    const events = [event('order', 'a', 2), event('order', 'b', 1), event('order', 'a', 1), event('order', 'c', 1), event('order', 'b', 2)];
    const done = publishInAggregateOrder(publisher, events, 2, handler);
    await flush();
    expect(publisher.outstanding).toEqual(['order/a#1', 'order/b#1']);
    await publisher.settle('order/a#1');
    expect(publisher.outstanding).toEqual(['order/b#1', 'order/a#2']);
    await publisher.settle('order/a#2');
    // Aggregate a is done: its worker takes the next aggregate, c, while b#1 still waits.
    expect(publisher.outstanding).toEqual(['order/b#1', 'order/c#1']);
    await publisher.settle('order/b#1');
    await publisher.settle('order/c#1');
    await publisher.settle('order/b#2');
    await done;
    expect(seen.confirmed).toEqual(['order/a#1', 'order/a#2', 'order/b#1', 'order/c#1', 'order/b#2']);
    expect(publisher.started).toHaveLength(5);
  });

  it("ends only the failed aggregate's chain on end-chain", async () => {
    const publisher = new HeldConfirms();
    const { seen, handler } = recorder('end-chain');
    const done = publishInAggregateOrder(
      publisher,
      [event('order', 'a', 1), event('order', 'a', 2), event('order', 'b', 1), event('order', 'b', 2)],
      2,
      handler,
    );
    await flush();
    await publisher.settle('order/a#1', new PublishError('unroutable', 'no route'));
    expect(publisher.outstanding).toEqual(['order/b#1']);
    await publisher.settle('order/b#1');
    await publisher.settle('order/b#2');
    await done;
    expect(seen).toEqual({ confirmed: ['order/b#1', 'order/b#2'], failed: ['order/a#1'] });
    expect(publisher.started).not.toContain('order/a#2');
  });

  it('starts nothing new after stop, but reports the publishes already in flight', async () => {
    const publisher = new HeldConfirms();
    const { seen, handler } = recorder('stop');
    const events = [event('order', 'a', 1), event('order', 'b', 1), event('order', 'b', 2), event('order', 'c', 1)];
    const done = publishInAggregateOrder(publisher, events, 2, handler);
    await flush();
    await publisher.settle('order/a#1', new Error('connection lost'));
    expect(publisher.outstanding).toEqual(['order/b#1']);
    await publisher.settle('order/b#1');
    await done;
    expect(seen).toEqual({ confirmed: ['order/b#1'], failed: ['order/a#1'] });
    expect(publisher.started).toEqual(['order/a#1', 'order/b#1']);
  });

  it("sends nothing withheld, and ends the withheld aggregate's chain there; the question comes right before each send", async () => {
    const publisher = new HeldConfirms();
    const { seen, handler } = recorder('end-chain');
    const asked: string[] = [];
    const withhold = (e: StoredEvent): boolean => {
      asked.push(e.id);
      return e.id === 'order/a#2';
    };
    const events = [event('order', 'a', 1), event('order', 'a', 2), event('order', 'a', 3), event('order', 'b', 1)];
    const done = publishInAggregateOrder(publisher, events, 2, { ...handler, withhold });
    await flush();
    expect(asked).toEqual(['order/a#1', 'order/b#1']);
    await publisher.settle('order/a#1');
    // a#2 is asked about only once a#1 is confirmed, and withheld: a#3 is never sent in this call.
    expect(asked).toEqual(['order/a#1', 'order/b#1', 'order/a#2']);
    await publisher.settle('order/b#1');
    await done;
    expect(seen).toEqual({ confirmed: ['order/a#1', 'order/b#1'], failed: [] });
    expect(publisher.started).toEqual(['order/a#1', 'order/b#1']);
  });

  it('keeps aggregates apart whose type and id would join to the same string', async () => {
    const publisher = new HeldConfirms();
    const { handler } = recorder('end-chain');
    const left = { ...event('a\u0000b', 'c', 1), id: 'left' };
    const right = { ...event('a', 'b\u0000c', 1), id: 'right' };
    expect(aggregateKey(left)).not.toBe(aggregateKey(right));
    const done = publishInAggregateOrder(publisher, [left, right], 2, handler);
    await flush();
    // Two aggregates, so both are in flight at once rather than one after the other.
    expect(publisher.outstanding).toEqual(['left', 'right']);
    await publisher.settle('left');
    await publisher.settle('right');
    await done;
  });
});
