import type { InboxEvent } from './inbox.js';

/**
 * What an inbox consumer reports, for metrics and logs; the same hooks for every broker. Every
 * hook is optional; a throwing hook is reported to `onError` and otherwise ignored.
 */
export interface InboxObserver {
  /** The handler ran and its transaction committed. `durationMs` is the handler's own time. */
  onProcessed?(info: { event: InboxEvent; attempt: number; durationMs: number }): void;
  /**
   * After the commit and BEFORE the ack: the window in which a crash leaves a committed message
   * unacknowledged (it is then redelivered and detected as a duplicate). Awaited.
   */
  afterCommit?(info: { event: InboxEvent }): void | Promise<void>;
  /** The inbox already had the event id: the handler did not run; the message was acked. */
  onDuplicate?(info: { event: InboxEvent }): void;
  /** The handler threw; the transaction was rolled back. `willRetry` false means it is dead-lettered. */
  onFailed?(info: { event: InboxEvent; error: unknown; attempt: number; durationMs: number; willRetry: boolean }): void;
  /** The ordering guard held the event back for an earlier one of its aggregate. */
  onHeldBack?(info: { event: InboxEvent; holds: number }): void;
  /** The message was written to the dead-letter destination (and acked). */
  onDeadLettered?(info: { messageId: string | undefined; reason: string; attempts: number }): void;
  /** Errors that are nobody's message: the database or broker failing, a hook throwing. */
  onError?(error: unknown): void;
}

/** Counts since an inbox consumer started. */
export interface InboxConsumerStats {
  /** Handler ran and committed. */
  readonly processed: number;
  /** Deliveries skipped because the inbox had the event id. */
  readonly duplicates: number;
  /** Handler runs that threw (each retry counts). */
  readonly failed: number;
  /** Messages written to the dead-letter destination. */
  readonly deadLettered: number;
  /** Deliveries the ordering guard put back for an earlier event. */
  readonly heldBack: number;
}

/** A running inbox consumer, whatever its broker. */
export interface InboxConsumerHandle {
  /** Resolves once the broker-side setup exists (queue, durable consumer, group) and consuming has started. */
  ready(): Promise<void>;
  stats(): InboxConsumerStats;
  /** Stops taking messages, lets running handlers finish (commit and ack), then closes the connections it opened. */
  close(): Promise<void>;
}

const MAX_ERROR_TEXT = 1000;

/** An error as header text: its message, bounded so one huge stack cannot bloat every retry or dead letter. */
export function boundedErrorText(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.length <= MAX_ERROR_TEXT ? text : `${text.slice(0, MAX_ERROR_TEXT - 1)}…`;
}
