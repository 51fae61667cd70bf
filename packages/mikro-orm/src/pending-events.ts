import type { EntityManager } from '@mikro-orm/core';
import type { Envelope } from '@outboxkit/core';

/**
 * Events wait here between `outbox.add(em, ...)` and the flush that writes them, keyed by the
 * EntityManager whose unit of work they joined (weakly: a discarded EM takes its events with it).
 */
const queued = new WeakMap<EntityManager, Envelope[]>();
/** Events a started flush took over; written by that flush, or dropped when it fails. */
const flushing = new WeakMap<EntityManager, Envelope[]>();

export function queueEvents(em: EntityManager, envelopes: readonly Envelope[]): void {
  const list = queued.get(em);
  if (list) list.push(...envelopes);
  else queued.set(em, [...envelopes]);
}

/**
 * A flush starts: it owns everything queued so far. A batch left over from an earlier flush of
 * this EM that failed is replaced, not carried over: MikroORM drops a failed flush's changes too,
 * so its events must not be written by a later flush for changes that never happened.
 */
export function startFlush(em: EntityManager): void {
  flushing.set(em, takeQueued(em));
}

/** Everything the running flush must write: its batch, plus events added while it ran (entity hooks). */
export function takeForWrite(em: EntityManager): Envelope[] {
  const batch = flushing.get(em) ?? [];
  flushing.delete(em);
  return [...batch, ...takeQueued(em)];
}

/** The transaction of `em` rolled back: its events go with it. */
export function dropEvents(em: EntityManager): void {
  flushing.delete(em);
  queued.delete(em);
}

function takeQueued(em: EntityManager): Envelope[] {
  const list = queued.get(em) ?? [];
  queued.delete(em);
  return list;
}
