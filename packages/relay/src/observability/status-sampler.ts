import type { OutboxStatus } from '@outboxkit/core';

/** The outcome of the most recent status sample. */
export interface StatusSample {
  readonly ok: boolean;
  /** When the sample finished (or timed out). */
  readonly at: Date;
  readonly status?: OutboxStatus;
  /** Why it failed: the error's message (drivers' messages carry no credentials) or a timeout. */
  readonly error?: string;
}

export interface StatusSamplerOptions {
  /** One sample: `dialect.status(database)`, or the sum over a process's tenants. */
  read(): Promise<OutboxStatus>;
  /** How often to sample. */
  intervalMs: number;
  /** A sample still running after this long counts as failed (a dead connection can hang for minutes). */
  timeoutMs: number;
  onSample(sample: StatusSample): void;
}

/**
 * Reads `dialect.status()` every `intervalMs`, never per scrape: Prometheus (or several of them)
 * scraping often must not turn into database load. One sample at a time; a slow one is not
 * stacked on. The oldest-pending-age part is a primary-key probe; the backlog is a count(*) of
 * the pending table, which stays small while the relay keeps up.
 */
export class StatusSampler {
  readonly #options: StatusSamplerOptions;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | null = null;
  /** The query itself, which may outlive a timed-out sample: the next one waits for it instead of stacking. */
  #query: Promise<OutboxStatus> | null = null;
  #latest: StatusSample | null = null;
  #stopped = false;

  constructor(options: StatusSamplerOptions) {
    this.#options = options;
  }

  /** The last sample, or null before the first finished. */
  get latest(): StatusSample | null {
    return this.#latest;
  }

  /** Takes a first sample at once (so /readyz can turn ready quickly), then one per interval. */
  start(): void {
    void this.sample();
    this.#timer = setInterval(() => void this.sample(), this.#options.intervalMs);
    this.#timer.unref();
  }

  /** One sample now, unless one is already running (then that one is awaited). */
  sample(): Promise<void> {
    this.#inFlight ??= this.#run().finally(() => {
      this.#inFlight = null;
    });
    return this.#inFlight;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    await this.#inFlight;
  }

  async #run(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`status query did not finish within ${this.#options.timeoutMs} ms`)), this.#options.timeoutMs);
    });
    let sample: StatusSample;
    try {
      this.#query ??= this.#options.read().finally(() => {
        this.#query = null;
      });
      const status = await Promise.race([this.#query, timedOut]);
      sample = { ok: true, at: new Date(), status };
    } catch (error) {
      sample = { ok: false, at: new Date(), error: error instanceof Error ? error.message : String(error) };
    } finally {
      clearTimeout(timer);
    }
    if (this.#stopped) return;
    this.#latest = sample;
    this.#options.onSample(sample);
  }
}
