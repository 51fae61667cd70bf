import { describe, expect, it } from 'vitest';
import { FairScheduler, OutboxConfigError } from '@outboxkit/core';

/** A cycle that runs until the test finishes it, and records when it started. */
function cycle(log: string[], name: string): { run: () => Promise<string>; finish: () => void } {
  let finish!: () => void;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });
  return {
    run: async () => {
      log.push(name);
      await done;
      return name;
    },
    finish: () => finish(),
  };
}

/** Lets every settled promise's continuations run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('FairScheduler', () => {
  it('runs at most maxConcurrent cycles at once', async () => {
    const scheduler = new FairScheduler({ maxConcurrent: 2 });
    const log: string[] = [];
    const cycles = ['a', 'b', 'c'].map((name) => cycle(log, name));
    const results = cycles.map((c, i) => scheduler.run(`lane-${i}`, c.run));
    await settle();
    expect(log).toEqual(['a', 'b']);
    expect(scheduler.load).toEqual({ running: 2, waitingLanes: 1 });
    cycles[0]!.finish();
    await settle();
    expect(log).toEqual(['a', 'b', 'c']);
    cycles[1]!.finish();
    cycles[2]!.finish();
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
    expect(scheduler.load).toEqual({ running: 0, waitingLanes: 0 });
  });

  it('serves waiting lanes round-robin, so a busy lane queues behind the others after each cycle', async () => {
    const scheduler = new FairScheduler({ maxConcurrent: 1 });
    const log: string[] = [];
    const finishers = new Map<string, () => void>();
    // The busy lane queues three cycles at once; each trickle lane one.
    const run = (lane: string, name: string): Promise<string> => {
      const c = cycle(log, name);
      finishers.set(name, c.finish);
      return scheduler.run(lane, c.run);
    };
    const all = [run('busy', 'busy-1'), run('busy', 'busy-2'), run('busy', 'busy-3'), run('t1', 't1-1'), run('t2', 't2-1')];
    for (let i = 0; i < 5; i++) {
      await settle();
      finishers.get(log.at(-1)!)!();
    }
    await Promise.all(all);
    expect(log).toEqual(['busy-1', 'busy-2', 't1-1', 't2-1', 'busy-3']);
  });

  it('does not let a lane that just finished take the slot from one that waits', async () => {
    const scheduler = new FairScheduler({ maxConcurrent: 1 });
    const log: string[] = [];
    const first = cycle(log, 'busy-1');
    const busy = scheduler.run('busy', first.run);
    await settle();
    const waiting = cycle(log, 'trickle-1');
    const trickle = scheduler.run('trickle', waiting.run);
    first.finish();
    await busy;
    // The busy lane comes straight back, as a relay with a backlog does.
    const again = cycle(log, 'busy-2');
    const busyAgain = scheduler.run('busy', again.run);
    await settle();
    expect(log).toEqual(['busy-1', 'trickle-1']);
    waiting.finish();
    again.finish();
    await Promise.all([trickle, busyAgain]);
    expect(log).toEqual(['busy-1', 'trickle-1', 'busy-2']);
  });

  it('frees the slot when a cycle throws', async () => {
    const scheduler = new FairScheduler({ maxConcurrent: 1 });
    await expect(scheduler.lane('a').run(() => Promise.reject(new Error('database down')))).rejects.toThrow('database down');
    expect(await scheduler.lane('b').run(async () => 'ran')).toBe('ran');
    expect(scheduler.load).toEqual({ running: 0, waitingLanes: 0 });
  });

  it('names the option when maxConcurrent is out of range', () => {
    expect(() => new FairScheduler({ maxConcurrent: 0 })).toThrow(OutboxConfigError);
    expect(() => new FairScheduler({ maxConcurrent: 0 })).toThrow(/maxConcurrent.*must be an integer from 1/);
  });
});
