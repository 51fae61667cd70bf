import { describe, expect, it } from 'vitest';
import { PublishError, PublishesInFlight, type StoredEvent } from '@outboxkit/core';

const event = (id: string): StoredEvent => ({ id }) as StoredEvent;

/** A publish the test settles by hand. */
function pending(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('PublishesInFlight', () => {
  it('returns the publish itself, value or error', async () => {
    const inFlight = new PublishesInFlight('Test');
    await expect(inFlight.run(event('a'), async () => undefined)).resolves.toBeUndefined();
    const failure = new Error('nack');
    await expect(inFlight.run(event('b'), () => Promise.reject(failure))).rejects.toBe(failure);
  });

  it('close() waits for every publish in flight, confirmed or failed, then shuts down once', async () => {
    const inFlight = new PublishesInFlight('Test');
    const confirmed = pending();
    const failed = pending();
    const first = inFlight.run(event('a'), () => confirmed.promise);
    const second = inFlight.run(event('b'), () => failed.promise).catch((error: unknown) => error);
    let shutDowns = 0;
    let closed = false;
    const closing = inFlight.close(async () => void shutDowns++).then(() => (closed = true));
    expect(inFlight.closed).toBe(true);

    confirmed.resolve();
    await first;
    await new Promise((resolve) => setImmediate(resolve));
    expect(closed).toBe(false);
    expect(shutDowns).toBe(0);

    failed.reject(new Error('timeout'));
    await closing;
    expect(await second).toBeInstanceOf(Error);
    expect(shutDowns).toBe(1);
    await inFlight.close(async () => void shutDowns++);
    expect(shutDowns).toBe(1);
  });

  it('refuses publishes once closing, as a transient connection error naming the broker and the event', async () => {
    const inFlight = new PublishesInFlight('Test');
    await inFlight.close(async () => undefined);
    let called = false;
    const refused = await inFlight
      .run(event('late'), async () => {
        called = true;
      })
      .catch((error: unknown) => error);
    expect(called).toBe(false);
    expect(refused).toBeInstanceOf(PublishError);
    expect(refused).toMatchObject({ reason: 'connection', permanent: false });
    expect((refused as Error).message).toContain('the Test publisher is closed; event late was not sent');
  });

  it('a publish that throws instead of rejecting fails its caller and does not hold close() up', async () => {
    const inFlight = new PublishesInFlight('Test');
    const failure = new Error('thrown');
    await expect(
      inFlight.run(event('a'), () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    await expect(inFlight.close(async () => undefined)).resolves.toBeUndefined();
  });
});
