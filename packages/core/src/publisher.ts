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
  /** Whether the broker connection is currently up (for readiness and the breaker). */
  isConnected(): boolean;
  close(): Promise<void>;
}
