import { DEAD_LETTER_HEADERS } from './inbox-deliveries.js';
import { decodeMessage, UndecodableMessage, type ReceivedMessageParts } from './message-headers.js';
import { OutboxConfigError } from './errors.js';

/** A message an inbox consumer gave up on, as its broker's dead-letter destination holds it. */
export interface DeadLetter {
  /** The event id (null when the message had none: it can only be inspected, not replayed). */
  readonly id: string | null;
  readonly type: string | null;
  readonly aggregateType: string | null;
  readonly aggregateId: string | null;
  readonly sequence: number | null;
  readonly occurredAt: Date | null;
  readonly deadLetteredAt: Date | null;
  /** Why the consumer gave it up. */
  readonly error: string | null;
  /** Deliveries before it was given up. */
  readonly attempts: number;
  /** Where it was consumed from, where a replay sends it. */
  readonly sourceQueue: string | null;
}

/** What a dead-letter replay did. */
export interface RedeliverResult {
  /** Sent back to their source (acknowledged by the broker), then removed from the dead letters. */
  readonly redelivered: readonly DeadLetter[];
  /** Looked at and left in the dead letters (not selected, or without an id or source). */
  readonly kept: readonly DeadLetter[];
}

/** The most dead letters a list or replay looks at unless told otherwise. */
export const DEFAULT_DEAD_LETTER_LIMIT = 1000;

/** `limit` of a dead-letter list or replay, checked: an integer from 1 to 100,000 (default 1,000). */
export function deadLetterLimit(limit: number | undefined): number {
  const value = limit ?? DEFAULT_DEAD_LETTER_LIMIT;
  if (!Number.isInteger(value) || value < 1 || value > 100_000) throw new OutboxConfigError('limit', `must be an integer from 1 to 100000, got ${value}`);
  return value;
}

/**
 * A dead letter from a message whose headers are strings: the event's own `x-outbox-*` headers
 * and the ones a consumer adds when it gives the message up ({@link DEAD_LETTER_HEADERS}).
 */
export function deadLetterOf(message: ReceivedMessageParts): DeadLetter {
  const text = (name: string): string | null => {
    const value = message.headers[name];
    return value === undefined || value === '' ? null : value;
  };
  const deadLetteredAt = text(DEAD_LETTER_HEADERS.deadLetteredAt);
  const event = decodeMessage(message);
  const decoded = event instanceof UndecodableMessage ? null : event;
  return {
    id: decoded?.id ?? (message.nativeId || null),
    type: decoded?.type ?? null,
    aggregateType: decoded?.aggregateType ?? null,
    aggregateId: decoded?.aggregateId ?? null,
    sequence: decoded?.sequence ?? null,
    occurredAt: decoded?.occurredAt ?? null,
    deadLetteredAt: deadLetteredAt === null || Number.isNaN(Date.parse(deadLetteredAt)) ? null : new Date(deadLetteredAt),
    error: text(DEAD_LETTER_HEADERS.error),
    attempts: Number(text(DEAD_LETTER_HEADERS.deliveries) ?? 0) || 0,
    sourceQueue: text(DEAD_LETTER_HEADERS.source),
  };
}

/** Whether a replay sends `letter` back: it has an event id and a source, and `ids` (compared case-insensitively) is absent or names it. */
export function isReplayed(letter: DeadLetter, ids: readonly string[] | undefined): boolean {
  if (letter.id === null || letter.sourceQueue === null) return false;
  const id = letter.id.toLowerCase();
  return ids === undefined || ids.some((wanted) => wanted.trim().toLowerCase() === id);
}

/**
 * Sends back, one after another, each of `items` that {@link isReplayed} selects: `send`
 * resolves once the broker has the copy and the dead letter is removed. The others are kept.
 */
export async function replaySelected<Item extends { readonly letter: DeadLetter }>(
  items: readonly Item[],
  ids: readonly string[] | undefined,
  send: (item: Item) => Promise<void>,
): Promise<RedeliverResult> {
  const redelivered: DeadLetter[] = [];
  const kept: DeadLetter[] = [];
  for (const item of items) {
    if (!isReplayed(item.letter, ids)) {
      kept.push(item.letter);
      continue;
    }
    await send(item);
    redelivered.push(item.letter);
  }
  return { redelivered, kept };
}
