import type { Publisher } from './publisher.js';

/** How long a starting relay waits for its broker before it starts without shards. */
export const BROKER_START_WAIT_MS = 5000;

/** What the relay does before a cycle, given the broker connection. */
export type BrokerStep =
  /** Connected, or down for less than the grace: claim and publish as usual. */
  | 'publish'
  /** Down for longer than the grace: give every shard up and leave the relay group. */
  | 'leave'
  /** Out of the group and still down: wait. */
  | 'wait'
  /** Out of the group and connected again: rejoin (rebalance), then publish. */
  | 'rejoin';

/**
 * Keeps a relay from holding shards it cannot publish. A relay whose broker is unreachable (a
 * wrong password or port, a network split) would otherwise sit on its share of the shards while
 * healthy relays could publish those events. It follows `publisher.isConnected()`: a connection
 * down for longer than `graceMs` (a reconnect blip is not worth a rebalance) takes the relay out
 * of the group, and it rejoins as soon as the connection is back. Out of the group it sends no
 * heartbeats either, so the other relays split every shard among themselves.
 *
 * @example
 * const gate = new BrokerGate(publisher, 5000);
 * const unreachable = await gate.probe(BROKER_START_WAIT_MS); // null, or why not
 * switch (gate.step()) { case 'leave': ...; case 'rejoin': ... }
 */
export class BrokerGate {
  #out = false;
  #downSince: number | null = null;

  constructor(
    private readonly publisher: Publisher,
    private readonly graceMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** True while the relay is out of the group because its broker is unreachable. */
  get out(): boolean {
    return this.#out;
  }

  /**
   * At start: null when the broker answers within `waitMs`; otherwise why not, and the relay
   * starts out of the group. Publishers without `connected()` are taken at their word.
   */
  async probe(waitMs: number): Promise<string | null> {
    if (this.publisher.isConnected() || this.publisher.connected === undefined) return null;
    try {
      await this.publisher.connected(AbortSignal.timeout(waitMs));
      return null;
    } catch (error) {
      this.#out = true;
      return (error as Error)?.name === 'TimeoutError' ? `no connection to the broker within ${waitMs} ms` : messageOf(error);
    }
  }

  /** Decides the next cycle's step; call once per cycle. */
  step(): BrokerStep {
    const connected = this.publisher.isConnected();
    if (this.#out) {
      if (!connected) return 'wait';
      this.#out = false;
      this.#downSince = null;
      return 'rejoin';
    }
    if (connected) {
      this.#downSince = null;
      return 'publish';
    }
    const now = this.now();
    this.#downSince ??= now;
    if (now - this.#downSince < this.graceMs) return 'publish';
    this.#out = true;
    return 'leave';
  }

  /** Why the broker is unreachable right now, in the publisher's words (never the password). */
  async reason(): Promise<string> {
    if (this.publisher.connected === undefined) return 'the publisher reports no broker connection';
    try {
      // Already aborted: a publisher that knows the connection is down says why, none waits.
      await this.publisher.connected(AbortSignal.abort(new Error('the broker connection is not established')));
      return 'the broker connection was down and is coming back';
    } catch (error) {
      return messageOf(error);
    }
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
