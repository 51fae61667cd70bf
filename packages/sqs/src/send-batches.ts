/** One message waiting for its batch. */
interface Pending<Message> {
  readonly message: Message;
  readonly bytes: number;
  readonly signal: AbortSignal;
  resolve(): void;
  reject(error: unknown): void;
}

/** How a destination's messages are sent: one alone, or several in one request with an outcome each. */
export interface BatchSender<Message> {
  sendOne(destination: string, message: Message, signal: AbortSignal): Promise<void>;
  /** Resolves with one outcome per message, in order: null when it was accepted, else its error. */
  sendMany(destination: string, messages: readonly Message[], signal: AbortSignal): Promise<readonly unknown[]>;
}

/**
 * Gathers publishes to one destination that start in the same tick into one batch request
 * (`SendMessageBatch`, `PublishBatch`), up to `maxSize` messages and `maxBytes` in all. The relay
 * never has two events of one aggregate in flight, so a batch holds at most one event per FIFO
 * group and cannot reorder a group (SQS keeps a batch's order within a group anyway). Each
 * publish still resolves or fails on its own entry's outcome.
 */
export class SendBatches<Message> {
  readonly #open = new Map<string, Pending<Message>[]>();

  constructor(
    private readonly sender: BatchSender<Message>,
    private readonly maxSize: number,
    private readonly maxBytes: number,
  ) {}

  send(destination: string, message: Message, bytes: number, signal: AbortSignal): Promise<void> {
    if (this.maxSize === 1 || bytes > this.maxBytes) return this.sender.sendOne(destination, message, signal);
    return new Promise<void>((resolve, reject) => {
      let batch = this.#open.get(destination);
      if (batch !== undefined && batch.reduce((sum, entry) => sum + entry.bytes, bytes) > this.maxBytes) {
        this.#flush(destination);
        batch = undefined;
      }
      if (batch === undefined) {
        batch = [];
        this.#open.set(destination, batch);
        const opened = batch;
        // Publishes started by the same relay cycle run in one tick; later ones start a new batch.
        setImmediate(() => {
          if (this.#open.get(destination) === opened) this.#flush(destination);
        });
      }
      batch.push({ message, bytes, signal, resolve, reject });
      if (batch.length >= this.maxSize) this.#flush(destination);
    });
  }

  #flush(destination: string): void {
    const batch = this.#open.get(destination);
    this.#open.delete(destination);
    // A publish whose deadline passed while it waited is not sent: it was reported as failed.
    const live = (batch ?? []).filter((entry) => {
      if (!entry.signal.aborted) return true;
      entry.reject(entry.signal.reason);
      return false;
    });
    if (live.length === 0) return;
    if (live.length === 1) {
      const [only] = live as [Pending<Message>];
      this.sender.sendOne(destination, only.message, only.signal).then(only.resolve, only.reject);
      return;
    }
    // Every entry's deadline is about the same; the request stops at the first.
    const signal = AbortSignal.any(live.map((entry) => entry.signal));
    this.sender
      .sendMany(
        destination,
        live.map((entry) => entry.message),
        signal,
      )
      .then(
        (outcomes) => {
          live.forEach((entry, i) => {
            const outcome = outcomes[i];
            if (outcome === null) entry.resolve();
            else entry.reject(outcome ?? new Error('the batch reply has no outcome for this entry'));
          });
        },
        (error: unknown) => {
          for (const entry of live) entry.reject(error);
        },
      );
  }
}
