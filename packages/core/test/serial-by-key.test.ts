import { describe, expect, it } from 'vitest';
import { serialByKey } from '@outboxkit/core';

/** A task that records its start and end, and finishes when its gate is opened. */
function gatedTask(log: string[], name: string) {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  return {
    open,
    run: async () => {
      log.push(`${name} start`);
      await gate;
      log.push(`${name} end`);
      return name;
    },
  };
}

describe('serialByKey', () => {
  it('starts a task of a key once the previous one settled, and runs other keys alongside', async () => {
    const serial = serialByKey<object>();
    const [a, b] = [{}, {}];
    const log: string[] = [];
    const first = gatedTask(log, 'a1');
    const second = gatedTask(log, 'a2');
    const other = gatedTask(log, 'b1');
    const results = [serial(a, first.run), serial(a, second.run), serial(b, other.run)];
    await new Promise((resolve) => setImmediate(resolve));
    expect(log).toEqual(['a1 start', 'b1 start']);
    other.open();
    second.open();
    await results[2];
    expect(log).toEqual(['a1 start', 'b1 start', 'b1 end']);
    first.open();
    expect(await Promise.all(results)).toEqual(['a1', 'a2', 'b1']);
    expect(log).toEqual(['a1 start', 'b1 start', 'b1 end', 'a1 end', 'a2 start', 'a2 end']);
  });

  it('passes a failure to its caller and still runs the next task of the key', async () => {
    const serial = serialByKey<object>();
    const key = {};
    const failure = new Error('write failed');
    const failed = serial(key, () => Promise.reject(failure));
    const next = serial(key, async () => 'next');
    await expect(failed).rejects.toBe(failure);
    expect(await next).toBe('next');
  });
});
