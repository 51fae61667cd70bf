// The consumer-side bookkeeping every broker's benchmark consumer shares: distinct event ids
// (consumers dedupe by id), all deliveries, and a wait for the n-th distinct id.

/**
 * @typedef {object} Counter
 * @property {number} distinct   distinct event ids received so far
 * @property {number} total      deliveries, duplicates included
 * @property {(n: number, timeoutMs: number) => Promise<void>} waitFor  resolves when `n` distinct ids arrived
 * @property {() => void} reset
 * @property {() => Promise<void>} close
 */

/**
 * A counter whose `received(id, at)` the broker's consumer calls for every delivery; `onMessage`
 * sees each distinct id once, with the time it arrived (`performance.now()`).
 * @param {(id: string, at: number) => void} [onMessage]
 * @param {() => Promise<void>} close  stops the broker's consumer
 * @returns {{ counter: Counter, received(id: string | undefined, at: number): void }}
 */
export function idCounter(onMessage, close) {
  const seen = new Set();
  let waiter = null;
  const counter = {
    distinct: 0,
    total: 0,
    waitFor(n, timeoutMs) {
      if (counter.distinct >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = null;
          reject(new Error(`consumer: ${counter.distinct} of ${n} events after ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = {
          n,
          done: () => {
            clearTimeout(timer);
            waiter = null;
            resolve();
          },
        };
      });
    },
    reset() {
      seen.clear();
      counter.distinct = 0;
      counter.total = 0;
    },
    close,
  };
  return {
    counter,
    received(id, at) {
      counter.total++;
      const key = id ?? `no-id-${counter.total}`;
      if (seen.has(key)) return;
      seen.add(key);
      counter.distinct++;
      onMessage?.(key, at);
      if (waiter && counter.distinct >= waiter.n) waiter.done();
    },
  };
}
