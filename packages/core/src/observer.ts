import type { StoredEvent } from './envelope.js';
import type { PublishError } from './errors.js';

/** The subset of a pino logger the relay uses; pass a pino instance as it is. */
export interface RelayLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: RelayLogger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * Hooks for metrics and tracing. Every method is optional and must not throw; the relay calls
 * them synchronously on its hot path, so keep them cheap (increment a counter, observe a value).
 */
export interface RelayObserver {
  /** A claim finished (also when it found nothing): the "last successful poll" signal. */
  polled?(info: { claimed: number; durationMs: number }): void;
  /** The broker confirmed `event`, `confirmedAt` is the relay's clock. Called before the ack commits. */
  published?(event: StoredEvent, confirmedAt: Date): void;
  /** Confirmed events were marked published (committed). */
  acked?(count: number): void;
  failed?(event: StoredEvent, error: PublishError | Error, permanent: boolean): void;
  quarantined?(event: StoredEvent, reason: string, status: 'parked' | 'dead-lettered'): void;
  /** `event` was past its `expiresAt` and was quarantined unpublished (`quarantined` is called for it too). */
  expired?(event: StoredEvent, status: 'parked' | 'dead-lettered'): void;
  breaker?(open: boolean): void;
  shards?(owned: readonly number[]): void;
  /** A database or unexpected error in `phase`; the relay retries by itself. */
  error?(phase: string, error: unknown): void;
}
