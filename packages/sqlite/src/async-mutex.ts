/**
 * A first-in, first-out lock for async work on one SQLite connection.
 *
 * A connection has exactly one transaction state: if two callers interleaved `BEGIN`s (or a
 * plain statement ran while another caller's transaction was open) they would share one
 * transaction without knowing it. Callers therefore queue here and run one at a time.
 */
export class AsyncMutex {
  #tail: Promise<void> = Promise.resolve();

  /** Runs `work` once every earlier caller has finished, and releases the lock however it ends. */
  async run<T>(work: () => Promise<T>): Promise<T> {
    const previous = this.#tail;
    let release!: () => void;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      return await work();
    } finally {
      release();
    }
  }
}
