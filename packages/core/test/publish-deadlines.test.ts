import { describe, expect, it } from 'vitest';
import { PublishDeadlines, PublishError, type PublishAttempt, type StoredEvent } from '@outboxkit/core';

const event = (id: string): StoredEvent => ({ id }) as StoredEvent;
const deadlines = (timeoutMs: number) =>
  new PublishDeadlines({ timeoutMs, option: 'confirmTimeoutMs', awaited: 'confirmed', describe: () => 'the broker is slow' });
const never = () => new Promise<never>(() => {});

describe('PublishDeadlines', () => {
  it("passes the work's outcome through, value or error", async () => {
    const d = deadlines(60_000);
    await expect(d.run(event('a'), async () => 42)).resolves.toBe(42);
    const failure = new Error('nack');
    await expect(
      d.run(event('b'), async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
  });

  it('rejects a publish that outlives its deadline with a transient timeout naming the option, and aborts its signal', async () => {
    const d = deadlines(30);
    let attempt: PublishAttempt | undefined;
    const error = await d
      .run(event('slow'), (a) => {
        attempt = a;
        return never();
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PublishError);
    expect((error as PublishError).reason).toBe('timeout');
    expect((error as PublishError).message).toBe(
      'event slow was not confirmed within confirmTimeoutMs (30 ms): the broker is slow. The event stays pending and will be retried',
    );
    // Created after the deadline, the signal is already aborted with the same error.
    expect(attempt!.signal.aborted).toBe(true);
    expect(attempt!.signal.reason).toBe(error);
    expect(() => attempt!.throwIfExpired()).toThrow(error as Error);
  });

  it('aborts a signal taken before the deadline when it passes', async () => {
    const d = deadlines(30);
    const reasons: unknown[] = [];
    const error = await d
      .run(event('waiting'), (a) => {
        a.signal.addEventListener('abort', () => reasons.push(a.signal.reason));
        return never();
      })
      .catch((e: unknown) => e);
    expect(reasons).toEqual([error]);
  });

  it("keeps each publish's own deadline with one timer: none expires before its own timeoutMs, a settled one stops nothing", async () => {
    const d = deadlines(60);
    const timed = (id: string) => {
      const started = performance.now();
      return d.run(event(id), never).catch((e: PublishError) => ({ message: e.message, afterMs: performance.now() - started }));
    };
    const quick = d.run(event('quick'), async () => 'done');
    const first = timed('stuck-1');
    await new Promise((resolve) => setTimeout(resolve, 25));
    const second = timed('stuck-2');
    expect(await quick).toBe('done');
    for (const [id, outcome] of [
      ['stuck-1', await first],
      ['stuck-2', await second],
    ] as const) {
      expect(outcome.message).toContain(`event ${id} was not confirmed`);
      // A lower bound only: the deadline is never cut short by the shared timer firing for an older publish.
      expect(outcome.afterMs).toBeGreaterThanOrEqual(60);
    }
  });

  it('throwIfExpired passes while the deadline has not passed', async () => {
    const d = deadlines(60_000);
    await d.run(event('a'), async (a) => {
      expect(() => a.throwIfExpired()).not.toThrow();
      expect(a.signal.aborted).toBe(false);
    });
  });
});
