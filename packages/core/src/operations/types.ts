import type { StoredEvent } from '../envelope.js';

/**
 * Which history rows to read. Every field narrows the selection (they combine with AND);
 * rows come back in `position` order, after `afterPosition`, so a caller pages with bounded
 * memory and each aggregate's events arrive in sequence order across pages.
 */
export interface HistoryQuery {
  /** Only rows with a position greater than this (the last position of the previous page; 0 to start). */
  readonly afterPosition: number;
  /** Only these event ids. */
  readonly ids?: readonly string[];
  /** Only this aggregate. */
  readonly aggregate?: { readonly type: string; readonly id: string };
  /** Only rows published at or after this instant (database clock). */
  readonly since?: Date;
  /** Only rows published before this instant (database clock). */
  readonly until?: Date;
}

/** A published event as the history table keeps it. */
export interface HistoryEvent extends StoredEvent {
  /** When the broker confirmed it (database clock). */
  readonly publishedAt: Date;
}

/** A row of the quarantine table, as `outbox-relay quarantine list` shows it. */
export interface QuarantineEntry {
  readonly id: string;
  readonly position: number;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly sequence: number;
  readonly type: string;
  readonly destination: string | null;
  readonly attempts: number;
  readonly reason: string;
  readonly status: 'parked' | 'dead-lettered' | 'retried' | 'skipped';
  readonly quarantinedAt: Date;
  readonly resolvedAt: Date | null;
  readonly resolvedBy: string | null;
  readonly resolutionNote: string | null;
}

/** Who resolves a quarantined event, and why; stored with the quarantine row. */
export interface QuarantineResolution {
  readonly by: string;
  readonly note: string | null;
}

/**
 * What a retry or skip did: `done` when this call resolved the event, `not-found` when no
 * quarantine row has that id, `already-resolved` when it was retried or skipped before (its
 * current status is given), so running the same command twice is harmless.
 */
export type QuarantineOutcome =
  | { readonly outcome: 'done' }
  | { readonly outcome: 'not-found' }
  | { readonly outcome: 'already-resolved'; readonly status: 'retried' | 'skipped' };

/** Quarantine rows still holding an event (`parked` also holds back its aggregate). */
export const OPEN_QUARANTINE_STATUSES = ['parked', 'dead-lettered'] as const;
