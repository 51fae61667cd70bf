import type { OperationsDialect } from '../dialect.js';
import type { Publisher } from '../publisher.js';
import type { SqlExecutor } from '../sql.js';
import { historyPages } from './history-pages.js';
import { aggregateKey, publishInAggregateOrder } from '../ordered-publish.js';
import type { HistoryEvent, HistoryQuery } from './types.js';

/** Options of {@link replayHistory}. */
export interface ReplayOptions {
  readonly dialect: OperationsDialect;
  readonly database: SqlExecutor;
  /** Where events go; null for a dry run (nothing is sent, `onEvent` still sees every event). */
  readonly publisher: Publisher | null;
  readonly query: Omit<HistoryQuery, 'afterPosition'>;
  /** History rows read per page (memory bound). */
  readonly pageSize: number;
  /** Unconfirmed publishes at once, across aggregates. */
  readonly maxInFlight: number;
  /** Keeps only some events of each page (reconcile replays only the missing ones). */
  readonly select?: (page: HistoryEvent[]) => Promise<HistoryEvent[]> | HistoryEvent[];
  /** Rewrites each event before it is sent, e.g. to send everything to one destination. */
  readonly transform?: (event: HistoryEvent) => HistoryEvent;
  /** Called for each selected event before it is sent (dry-run listing). */
  readonly onEvent?: (event: HistoryEvent) => void;
  /** Called after each page with running totals. */
  readonly onProgress?: (progress: ReplayProgress) => void;
}

export interface ReplayProgress {
  /** History rows read (matched the query). */
  readonly read: number;
  /** Events selected for replay. */
  readonly selected: number;
  /** Events the broker confirmed (0 in a dry run). */
  readonly sent: number;
  /** Distinct aggregates among the selected events. */
  readonly aggregates: number;
  /** Position of the last row read, to resume after a failure. */
  readonly lastPosition: number;
}

export interface ReplayResult extends ReplayProgress {
  /** The first publish failure; the replay stopped there. */
  readonly failure: { readonly event: HistoryEvent; readonly error: unknown } | null;
}

/**
 * Re-publishes events from the history table with their ORIGINAL ids and sequences, straight to
 * the broker (never back through the pending table, so the relay and the live stream are not
 * disturbed): consumers' inboxes recognise them as duplicates of what they already processed
 * and apply only what they never saw. Pages by position; within a page each aggregate goes in
 * sequence order, and a page is finished before the next is read, so order holds across pages.
 *
 * @example
 * const result = await replayHistory({ dialect, database: db, publisher, query: { since }, pageSize: 500, maxInFlight: 64 });
 */
export async function replayHistory(options: ReplayOptions): Promise<ReplayResult> {
  let read = 0;
  let selected = 0;
  let sent = 0;
  let lastPosition = 0;
  const aggregates = new Set<string>();
  const progress = (): ReplayProgress => ({ read, selected, sent, aggregates: aggregates.size, lastPosition });

  for await (const page of historyPages(options.dialect, options.database, options.query, options.pageSize)) {
    read += page.length;
    const chosen = options.select ? await options.select(page) : page;
    const outgoing = options.transform ? chosen.map(options.transform) : chosen;
    selected += outgoing.length;
    for (const event of outgoing) {
      aggregates.add(aggregateKey(event));
      options.onEvent?.(event);
    }
    if (options.publisher !== null && outgoing.length > 0) {
      const stop: { failure: ReplayResult['failure'] } = { failure: null };
      // The first failure stops the replay, so a broker outage is not skipped through.
      await publishInAggregateOrder(options.publisher, outgoing, options.maxInFlight, {
        confirmed: () => {
          sent++;
        },
        failed: (event, error) => {
          stop.failure ??= { event, error };
          return 'stop';
        },
      });
      if (stop.failure !== null) return { ...progress(), failure: stop.failure };
    }
    lastPosition = page[page.length - 1]!.position;
    options.onProgress?.(progress());
  }
  return { ...progress(), failure: null };
}
