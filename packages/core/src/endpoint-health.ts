import { PublishError } from './errors.js';

/** How long a probe waits for the endpoint, and between probes while it is down. */
const PROBE_TIMEOUT_MS = 5000;
const PROBE_INTERVAL_MS = 1000;

interface Waiter {
  resolve(): void;
  reject(error: unknown): void;
}

/** How a publisher tells an answer of its service from a failure to reach it (or a refusal of the credentials). */
export interface EndpointProbe {
  /** For messages: `SQS`, `Pub/Sub`. */
  readonly service: string;
  /** Where, without secrets. */
  readonly where: string;
  /** A cheap request; any answer of the service (even "no such queue") proves the endpoint up. */
  probe(signal: AbortSignal): Promise<unknown>;
  /** True when `error` is the service's answer and not about the credentials. */
  answered(error: unknown): boolean;
  /** True when `error` is the caller's own abort or deadline: it says nothing about the endpoint. */
  aborted(error: unknown): boolean;
  /** Text of an error with secrets removed. */
  text(error: unknown): string;
}

/**
 * What is known about an endpoint of a request/response client (AWS's HTTP APIs, gRPC) that has
 * no connection to watch: up after a request the service answered, down after one that never
 * reached it (refused, reset, timed out) or that it refused for the credentials. While down (or
 * not yet known) it probes, so `up` comes back by itself: the relay stops publishing while its
 * broker is down and follows `up` alone to resume.
 *
 * @example
 * const health = new EndpointHealth({ service: 'SQS', where, probe, answered, aborted, text });
 * health.observe(null); // after a request that succeeded
 */
export class EndpointHealth {
  #state: 'unknown' | 'up' | 'down' = 'unknown';
  #cause: unknown = null;
  #probing = false;
  #closed = false;
  #timer: NodeJS.Timeout | null = null;
  readonly #waiters = new Set<Waiter>();

  readonly #endpoint: EndpointProbe;

  constructor(endpoint: EndpointProbe) {
    this.#endpoint = endpoint;
    void this.#probe();
  }

  get up(): boolean {
    return this.#state === 'up' && !this.#closed;
  }

  /** After a request: up if the service answered (with anything but a credentials refusal), down otherwise. */
  observe(error: unknown): void {
    if (error === null || this.#endpoint.answered(error)) this.#markUp();
    else if (!this.#endpoint.aborted(error)) this.#markDown(error);
  }

  /** Resolves once the endpoint answered; rejects with the reason while it is known to be down. */
  connected(signal: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new PublishError('connection', `the ${this.#endpoint.service} publisher for ${this.#endpoint.where} is closed`));
    if (this.#state === 'up') return Promise.resolve();
    if (this.#state === 'down') return Promise.reject(this.downError());
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => settle(() => reject(signal.reason));
      const settle = (finish: () => void): void => {
        this.#waiters.delete(waiter);
        signal.removeEventListener('abort', onAbort);
        finish();
      };
      const waiter: Waiter = { resolve: () => settle(resolve), reject: (error) => settle(() => reject(error)) };
      this.#waiters.add(waiter);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A sentence for error messages: why a request could not complete. */
  describe(): string {
    if (this.#state === 'down') return `${this.#endpoint.service} at ${this.#endpoint.where} is unreachable (${this.#endpoint.text(this.#cause)})`;
    if (this.#state === 'unknown') return `${this.#endpoint.service} at ${this.#endpoint.where} has not answered yet`;
    return `${this.#endpoint.service} at ${this.#endpoint.where} answers, but slowly`;
  }

  downError(): PublishError {
    return new PublishError(
      'connection',
      `cannot reach ${this.#endpoint.service} at ${this.#endpoint.where}: ${this.#endpoint.text(this.#cause)}. The event stays pending; the publisher keeps probing`,
    );
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    const closed = new PublishError('connection', `the ${this.#endpoint.service} publisher for ${this.#endpoint.where} is closed`);
    for (const waiter of [...this.#waiters]) waiter.reject(closed);
  }

  #markUp(): void {
    this.#state = 'up';
    this.#cause = null;
    for (const waiter of [...this.#waiters]) waiter.resolve();
  }

  #markDown(cause: unknown): void {
    this.#state = 'down';
    this.#cause = cause;
    const failure = this.downError();
    for (const waiter of [...this.#waiters]) waiter.reject(failure);
    this.#schedule();
  }

  #schedule(): void {
    if (this.#closed || this.#probing || this.#timer !== null) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#probe();
    }, PROBE_INTERVAL_MS);
    // A probe loop must not keep a process alive that is otherwise done.
    this.#timer.unref();
  }

  async #probe(): Promise<void> {
    if (this.#closed || this.#probing) return;
    this.#probing = true;
    let outcome: unknown = null;
    try {
      await this.#endpoint.probe(AbortSignal.timeout(PROBE_TIMEOUT_MS));
    } catch (error) {
      outcome = error;
    } finally {
      this.#probing = false;
    }
    if (this.#closed) return;
    // An abort here is the probe's own timeout: the endpoint did not answer.
    this.observe(outcome !== null && this.#endpoint.aborted(outcome) ? new Error(`no answer within ${PROBE_TIMEOUT_MS} ms`) : outcome);
  }
}
