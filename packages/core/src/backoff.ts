/**
 * Exponential backoff with full jitter: a uniformly random delay in [0, min(max, initial * 2^(n-1))].
 * Full jitter spreads retries of many failed events so they do not return as one burst.
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(ceiling * random());
}

/**
 * Stops the relay from claiming while the broker is unhealthy, so events are not claimed just
 * to fail and no attempts are burned. Each consecutive trip doubles the cool-down.
 */
export class CircuitBreaker {
  private openUntil = 0;
  private trips = 0;
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  trip(): void {
    this.trips++;
    this.openUntil = this.now() + Math.min(this.maxMs, this.initialMs * 2 ** (this.trips - 1));
  }

  reset(): void {
    this.trips = 0;
    this.openUntil = 0;
  }

  /** Milliseconds until the next attempt is allowed; 0 when closed or half-open. */
  remainingMs(): number {
    return Math.max(0, this.openUntil - this.now());
  }

  get isTripped(): boolean {
    return this.trips > 0;
  }
}
