import { PublishError } from './errors.js';
import type { StoredEvent } from './envelope.js';

/** What {@link withPublishDeadline} needs to word its timeout. */
export interface PublishDeadline {
  readonly timeoutMs: number;
  /** The option that sets `timeoutMs`, named in the error, e.g. `confirmTimeoutMs`. */
  readonly option: string;
  /** What the broker should have done in time, e.g. `confirmed`. */
  readonly awaited: string;
  /** Why it may not have (the connection's state), read when the deadline passes. */
  describe(): string;
}

// The reason the signal of a publish that settled is aborted with (releasing whatever still listens
// to it). One shared error: `abort()` without a reason builds a DOMException, stack and all, per publish.
const SETTLED = Object.freeze(new Error('the publish settled before its deadline'));

/**
 * Runs one publish of `event` under a deadline: past `timeoutMs` it rejects with a transient
 * `timeout` and aborts `signal`, so the work can stop before sending (sending after the deadline
 * would publish an event already reported as failed).
 */
export async function withPublishDeadline<T>(event: StoredEvent, deadline: PublishDeadline, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new PublishError(
        'timeout',
        `event ${event.id} was not ${deadline.awaited} within ${deadline.option} (${deadline.timeoutMs} ms): ${deadline.describe()}. ` +
          'The event stays pending and will be retried',
      );
      controller.abort(error);
      reject(error);
    }, deadline.timeoutMs);
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
    controller.abort(SETTLED);
  }
}

/**
 * The publishes of one publisher that have not settled, so `close()` can wait for them, and the
 * closed state every publisher reports the same way.
 */
export class PublishesInFlight {
  readonly #pending = new Set<Promise<void>>();
  #closing: Promise<void> | null = null;

  constructor(private readonly broker: string) {}

  get closed(): boolean {
    return this.#closing !== null;
  }

  /** Starts `publish` unless closing; the returned promise is the publish itself. */
  run(event: StoredEvent, publish: () => Promise<void>): Promise<void> {
    if (this.#closing !== null) {
      return Promise.reject(new PublishError('connection', `the ${this.broker} publisher is closed; event ${event.id} was not sent`));
    }
    const publishing = publish();
    const tracked = publishing.catch(() => undefined);
    this.#pending.add(tracked);
    void tracked.finally(() => this.#pending.delete(tracked));
    return publishing;
  }

  /** Refuses new publishes, waits for those in flight, then runs `shutDown` once. */
  close(shutDown: () => Promise<void>): Promise<void> {
    this.#closing ??= (async () => {
      await Promise.all(this.#pending);
      await shutDown();
    })();
    return this.#closing;
  }
}
