import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Pacer, type CycleEnd } from '@outboxkit/core';

// The pacer is pure scheduling: fake timers let each test read how long a wait lasted exactly.
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const claimed: CycleEnd = { kind: 'claimed' };
const empty: CycleEnd = { kind: 'empty' };
const error: CycleEnd = { kind: 'error' };

/** How long (fake) milliseconds `pacer.after(end)` waited when nothing interrupts it. */
async function waited(pacer: Pacer, end: CycleEnd): Promise<number> {
  const started = Date.now();
  const wait = pacer.after(end);
  await vi.runAllTimersAsync();
  await wait;
  return Date.now() - started;
}

/** Starts a wait and reports whether it has ended yet. */
function track(wait: Promise<void>): { readonly ended: boolean } {
  const state = { ended: false };
  void wait.then(() => {
    state.ended = true;
  });
  return state;
}

describe('Pacer', () => {
  it('doubles idle waits from a sixteenth of the poll interval up to the poll interval', async () => {
    const pacer = new Pacer(160);
    expect(pacer.minDelayMs).toBe(10);
    const waits = [];
    for (let i = 0; i < 6; i++) waits.push(await waited(pacer, empty));
    expect(waits).toEqual([10, 20, 40, 80, 160, 160]);
  });

  it('never waits less than 5 ms when idle', async () => {
    const pacer = new Pacer(10);
    expect(pacer.minDelayMs).toBe(5);
    expect(await waited(pacer, empty)).toBe(5);
    expect(await waited(pacer, empty)).toBe(10);
  });

  it('follows any non-empty claim at once and starts the idle doubling over', async () => {
    const pacer = new Pacer(160);
    for (let i = 0; i < 3; i++) await waited(pacer, empty);
    expect(await waited(pacer, claimed)).toBe(0);
    expect(await waited(pacer, empty)).toBe(10);
  });

  it('ends an idle wait when woken, and the doubling restarts from the shortest wait', async () => {
    const pacer = new Pacer(160);
    await waited(pacer, empty);
    await waited(pacer, empty);
    const started = Date.now();
    const wait = track(pacer.after(empty));
    await vi.advanceTimersByTimeAsync(15);
    expect(wait.ended).toBe(false);
    pacer.wake();
    await vi.advanceTimersByTimeAsync(0);
    expect(wait.ended).toBe(true);
    expect(Date.now() - started).toBe(15);
    expect(await waited(pacer, empty)).toBe(20);
  });

  it('does not wait at all when a wake-up arrived during the cycle', async () => {
    const pacer = new Pacer(160);
    for (let i = 0; i < 4; i++) await waited(pacer, empty);
    pacer.wake();
    expect(await waited(pacer, empty)).toBe(0);
    expect(await waited(pacer, empty)).toBe(20);
    // The wake-up was used up.
    expect(await waited(pacer, empty)).toBe(40);
  });

  it('waits out an open breaker despite wake-ups, and keeps the wake-up for the next idle wait', async () => {
    const pacer = new Pacer(160);
    const started = Date.now();
    const wait = track(pacer.after({ kind: 'breaker-open', remainingMs: 300 }));
    await vi.advanceTimersByTimeAsync(100);
    pacer.wake();
    await vi.advanceTimersByTimeAsync(199);
    expect(wait.ended).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(wait.ended).toBe(true);
    expect(Date.now() - started).toBe(300);
    expect(await waited(pacer, empty)).toBe(0);
  });

  it('waits at least 1 ms for a breaker that is just closing', async () => {
    expect(await waited(new Pacer(160), { kind: 'breaker-open', remainingMs: 0 })).toBe(1);
  });

  it('backs off failed cycles up to the larger of the poll interval and 5 s, and resets after a good cycle', async () => {
    const pacer = new Pacer(160);
    const waits = [];
    for (let i = 0; i < 11; i++) waits.push(await waited(pacer, error));
    expect(waits).toEqual([10, 20, 40, 80, 160, 320, 640, 1280, 2560, 5000, 5000]);
    await waited(pacer, claimed);
    expect(await waited(pacer, error)).toBe(10);

    const slow = new Pacer(16_000);
    const slowWaits = [];
    for (let i = 0; i < 6; i++) slowWaits.push(await waited(slow, error));
    expect(slowWaits).toEqual([1000, 2000, 4000, 8000, 16_000, 16_000]);
  });

  it('keeps idle and error backoff apart', async () => {
    const pacer = new Pacer(160);
    await waited(pacer, empty);
    await waited(pacer, empty);
    await waited(pacer, error);
    expect(await waited(pacer, error)).toBe(20);
    expect(await waited(pacer, empty)).toBe(40);
  });

  it('ends a wait of any kind on interrupt, without using up a pending wake-up', async () => {
    const pacer = new Pacer(160);
    for (const end of [error, { kind: 'breaker-open', remainingMs: 10_000 } as const]) {
      const started = Date.now();
      const wait = track(pacer.after(end));
      await vi.advanceTimersByTimeAsync(3);
      pacer.wake();
      pacer.interrupt();
      await vi.advanceTimersByTimeAsync(0);
      expect(wait.ended).toBe(true);
      expect(Date.now() - started).toBe(3);
    }
    expect(await waited(pacer, empty)).toBe(0);
  });
});
