import type { StoredEvent } from './envelope.js';

/**
 * Sends events to a broker. Contract:
 * - `publish` resolves only after the broker has durably accepted (confirmed) the event and it
 *   was routed somewhere; anything else rejects with a `PublishError` saying whether the failure
 *   is permanent (a property of the event) or transient (a property of the broker).
 * - It is safe to call concurrently; the relay never has two events of one aggregate in flight.
 */
export interface Publisher {
  publish(event: StoredEvent): Promise<void>;
  /** Whether the broker connection is currently up (for readiness, the breaker and shard ownership). */
  isConnected(): boolean;
  /**
   * Resolves once the broker connection is up. Rejects with the reason (a transient
   * `PublishError` naming the broker, never the password) when the broker is known to be
   * unreachable or refuses the connection, or with `signal.reason` when aborted. The relay asks at
   * start, so a wrong URL, port or password is reported at once instead of at the first event.
   * Optional: without it the relay follows `isConnected()` alone.
   */
  connected?(signal: AbortSignal): Promise<void>;
  close(): Promise<void>;
}
