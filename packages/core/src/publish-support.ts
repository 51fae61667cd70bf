import { PublishError } from './errors.js';
import type { StoredEvent } from './envelope.js';

/** What {@link PublishDeadlines} needs to word its timeout. */
export interface PublishDeadline {
  readonly timeoutMs: number;
  /** The option that sets `timeoutMs`, named in the error, e.g. `confirmTimeoutMs`. */
  readonly option: string;
  /** What the broker should have done in time, e.g. `confirmed`. */
  readonly awaited: string;
  /** Why it may not have (the connection's state), read when the deadline passes. */
  describe(): string;
}

/** One publish under its deadline, as the work sees it. */
export interface PublishAttempt {
  /**
   * Aborted with the timeout when the deadline passes. Created on first use: a publish that
   * never waits on anything abortable pays nothing for it.
   */
  readonly signal: AbortSignal;
  /** Throws the timeout once the deadline passed. Call it right before sending: sending after the deadline would publish an event already reported as failed. */
  throwIfExpired(): void;
}

class Attempt implements PublishAttempt {
  #controller: AbortController | null = null;
  #expired: PublishError | null = null;

  constructor(
    readonly event: StoredEvent,
    readonly deadlineAt: number,
    readonly fail: (error: PublishError) => void,
  ) {}

  get signal(): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController();
      if (this.#expired !== null) this.#controller.abort(this.#expired);
    }
    return this.#controller.signal;
  }

  throwIfExpired(): void {
    if (this.#expired !== null) throw this.#expired;
  }

  expire(error: PublishError): void {
    this.#expired = error;
    this.#controller?.abort(error);
    this.fail(error);
  }
}

/**
 * The deadlines of one publisher's publishes in flight, kept by ONE timer instead of a timer,
 * an AbortController and a `Promise.race` per publish (each publish on the relay's hot path
 * paid for all three, and `abort()` on success builds and dispatches an event). Every publish
 * has the same timeout, so insertion order is deadline order: the timer waits for the oldest
 * publish only, and is re-armed when it fires, never when a publish settles.
 */
export class PublishDeadlines {
  readonly #attempts = new Set<Attempt>();
  #timer: NodeJS.Timeout | null = null;

  constructor(private readonly deadline: PublishDeadline) {}

  /**
   * Runs one publish of `event`: past `timeoutMs` it rejects with a transient `timeout` and
   * aborts the attempt's signal, so the work can stop before sending.
   */
  run<T>(event: StoredEvent, work: (attempt: PublishAttempt) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const attempt = new Attempt(event, performance.now() + this.deadline.timeoutMs, reject);
      this.#attempts.add(attempt);
      this.#arm();
      const settle = (): void => {
        this.#attempts.delete(attempt);
        if (this.#attempts.size === 0) this.#disarm();
      };
      work(attempt).then(
        (value) => {
          settle();
          resolve(value);
        },
        (error: unknown) => {
          settle();
          reject(error);
        },
      );
    });
  }

  #arm(): void {
    if (this.#timer !== null) return;
    const [oldest] = this.#attempts;
    if (oldest === undefined) return;
    this.#timer = setTimeout(this.#sweep, Math.max(0, oldest.deadlineAt - performance.now()));
  }

  #disarm(): void {
    if (this.#timer === null) return;
    clearTimeout(this.#timer);
    this.#timer = null;
  }

  readonly #sweep = (): void => {
    this.#timer = null;
    const now = performance.now();
    for (const attempt of this.#attempts) {
      if (attempt.deadlineAt > now) break;
      this.#attempts.delete(attempt);
      attempt.expire(this.#timeout(attempt.event));
    }
    this.#arm();
  };

  #timeout(event: StoredEvent): PublishError {
    const { awaited, option, timeoutMs } = this.deadline;
    return new PublishError(
      'timeout',
      `event ${event.id} was not ${awaited} within ${option} (${timeoutMs} ms): ${this.deadline.describe()}. ` + 'The event stays pending and will be retried',
    );
  }
}

/**
 * The publishes of one publisher that have not settled, so `close()` can wait for them, and the
 * closed state every publisher reports the same way.
 */
export class PublishesInFlight {
  // A count, not a set of promises: tracking each publish with derived promises cost two more
  // promises (and their reactions) per event on the relay's hot path.
  #pending = 0;
  #drained: (() => void) | null = null;
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
    let publishing: Promise<void>;
    try {
      publishing = publish();
    } catch (error) {
      // Counted as settled at once, or close() would wait for it for ever.
      publishing = Promise.reject(error);
    }
    this.#pending++;
    publishing.then(this.#settled, this.#settled);
    return publishing;
  }

  /** Refuses new publishes, waits for those in flight, then runs `shutDown` once. */
  close(shutDown: () => Promise<void>): Promise<void> {
    this.#closing ??= (async () => {
      if (this.#pending > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
      await shutDown();
    })();
    return this.#closing;
  }

  readonly #settled = (): void => {
    if (--this.#pending === 0) this.#drained?.();
  };
}
