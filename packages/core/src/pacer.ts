/** How a relay cycle ended, as far as the wait before the next one is concerned. */
export type CycleEnd =
  | { readonly kind: 'claimed' }
  | { readonly kind: 'empty' }
  | { readonly kind: 'breaker-open'; readonly remainingMs: number }
  /** The relay is out of the group until its broker is reachable again. */
  | { readonly kind: 'broker-down' }
  | { readonly kind: 'error' };

/** Error backoff never waits longer than this, or the poll interval when that is longer. */
const ERROR_DELAY_CAP_MS = 5000;
/** How often a relay out of the group looks at its broker connection again (a cheap, local check). */
const BROKER_RECHECK_MS = 1000;

/**
 * The relay loop's waits between cycles. A cycle that claimed something is followed at once
 * (more is probably waiting); an empty poll waits, doubling from a short delay up to
 * `pollIntervalMs`, and a wake-up (a commit was signalled) cuts that wait short and starts the
 * doubling over. A failed cycle backs off, doubling up to the larger of `pollIntervalMs` and
 * 5 s; an open breaker is waited out, and an unreachable broker is looked at again every poll
 * interval (at most a second). Wake-ups never cut those short, since new events do
 * not fix the database or the broker — but one that arrives then is kept for the next idle wait.
 *
 * @example
 * const pacer = new Pacer(1000);
 * while (running) await pacer.after(await cycle());
 * // elsewhere: pacer.wake() on a commit signal, pacer.stop() on shutdown
 */
export class Pacer {
  /** The shortest idle wait, and where the idle and error doublings start. */
  readonly minDelayMs: number;
  private idleDelayMs: number;
  private errorDelayMs: number;
  private wakePending = false;
  private stopped = false;
  private interruptPause: ((byWake: boolean) => void) | undefined;

  constructor(private readonly pollIntervalMs: number) {
    this.minDelayMs = Math.max(5, Math.floor(pollIntervalMs / 16));
    this.idleDelayMs = this.minDelayMs;
    this.errorDelayMs = this.minDelayMs;
  }

  /** Waits as long as the way the last cycle ended calls for. */
  async after(end: CycleEnd): Promise<void> {
    if (end.kind === 'error') {
      const ms = this.errorDelayMs;
      this.errorDelayMs = Math.min(ms * 2, Math.max(this.pollIntervalMs, ERROR_DELAY_CAP_MS));
      return this.pause(ms, false);
    }
    this.errorDelayMs = this.minDelayMs;
    if (end.kind === 'breaker-open') return this.pause(Math.max(end.remainingMs, 1), false);
    if (end.kind === 'broker-down') return this.pause(Math.min(this.pollIntervalMs, BROKER_RECHECK_MS), false);
    if (end.kind === 'claimed') {
      this.idleDelayMs = this.minDelayMs;
      return;
    }
    await this.pause(this.idleDelayMs, true);
    this.idleDelayMs = Math.min(this.idleDelayMs * 2, this.pollIntervalMs);
  }

  /** New events were committed: ends an idle wait now, or the next one at once. */
  wake(): void {
    this.wakePending = true;
    this.interruptPause?.(true);
  }

  /** Ends the current wait, whatever its kind. */
  interrupt(): void {
    this.interruptPause?.(false);
  }

  /**
   * The relay is stopping: ends the current wait and every later one at once. Sticky, because
   * `stop()` may land while a cycle is still running, before the wait that follows it begins;
   * that wait must not hold the shutdown for up to a poll interval or a breaker cool-down.
   */
  stop(): void {
    this.stopped = true;
    this.interrupt();
  }

  /** Waits `ms`, or less when interrupted, or (when `wakeable`) when a wake-up arrives. */
  private pause(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (wakeable && this.wakePending) {
      this.consumeWake();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.interruptPause = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.interruptPause = (byWake) => {
        if (byWake && !wakeable) return;
        if (byWake) this.consumeWake();
        done();
      };
    });
  }

  private consumeWake(): void {
    this.wakePending = false;
    this.idleDelayMs = this.minDelayMs;
  }
}
