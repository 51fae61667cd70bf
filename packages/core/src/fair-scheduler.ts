import { integerOption } from './options.js';

/**
 * Where a {@link Relay} runs each claim-publish-settle cycle: with a scheduler, a cycle waits
 * for its turn. Without one, cycles run as soon as the pacer allows.
 */
export interface CycleScheduler {
  run<T>(cycle: () => Promise<T>): Promise<T>;
}

/**
 * Shares a bound on concurrent relay cycles between many relays of one process (one relay per
 * tenant: a schema, a database or a file), and hands a freed slot to the waiting lanes in
 * turn, round-robin. A lane with a large backlog claims full batches back to back; after each
 * cycle it queues again behind every lane that was waiting, so a trickle tenant waits for at
 * most `maxConcurrent` cycles in progress plus one cycle of each lane ahead of it, never for
 * the whole backlog.
 *
 * @example
 * const scheduler = new FairScheduler({ maxConcurrent: 4 });
 * const relays = tenants.map((tenant) => new Relay({ ...options, scheduler: scheduler.lane(tenant) }));
 */
export class FairScheduler {
  readonly maxConcurrent: number;
  private running = 0;
  /** Waiting cycles per lane; the map's order is the round-robin order. */
  private readonly waiting = new Map<string, (() => void)[]>();

  constructor(options: { maxConcurrent?: number } = {}) {
    this.maxConcurrent = integerOption(options.maxConcurrent, 'maxConcurrent', 4, 1, 10_000);
  }

  /** The scheduler as one relay sees it: cycles queued under `name` (one lane per tenant). */
  lane(name: string): CycleScheduler {
    return { run: (cycle) => this.run(name, cycle) };
  }

  /** Cycles running now and lanes waiting for a slot (for tests and metrics). */
  get load(): { running: number; waitingLanes: number } {
    return { running: this.running, waitingLanes: this.waiting.size };
  }

  async run<T>(lane: string, cycle: () => Promise<T>): Promise<T> {
    await this.acquire(lane);
    try {
      return await cycle();
    } finally {
      this.release();
    }
  }

  private acquire(lane: string): Promise<void> {
    // A free slot is only taken when nobody waits: a lane that just finished must not jump the queue.
    if (this.running < this.maxConcurrent && this.waiting.size === 0) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const queue = this.waiting.get(lane);
      if (queue) queue.push(resolve);
      else this.waiting.set(lane, [resolve]);
    });
  }

  /** Hands the slot straight to the first waiting lane, which then moves to the back of the order. */
  private release(): void {
    const next = this.waiting.entries().next();
    if (next.done) {
      this.running--;
      return;
    }
    const [lane, queue] = next.value;
    const resolve = queue.shift()!;
    this.waiting.delete(lane);
    if (queue.length > 0) this.waiting.set(lane, queue);
    resolve();
  }
}
