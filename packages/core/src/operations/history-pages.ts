import type { OperationsDialect } from '../dialect.js';
import type { SqlExecutor } from '../sql.js';
import type { HistoryEvent, HistoryQuery } from './types.js';

/**
 * Reads the history table page by page in position order, so memory holds one page whatever
 * the window's size. Position (not time) is the cursor: within an aggregate, position order is
 * sequence order, so every consumer of these pages sees each aggregate in order.
 *
 * @example
 * for await (const page of historyPages(dialect, db, { since }, 500)) console.log(page.length);
 */
export async function* historyPages(
  dialect: OperationsDialect,
  exec: SqlExecutor,
  query: Omit<HistoryQuery, 'afterPosition'>,
  pageSize: number,
): AsyncGenerator<HistoryEvent[]> {
  let afterPosition = 0;
  for (;;) {
    const page = await dialect.readHistory(exec, { ...query, afterPosition }, pageSize);
    if (page.length === 0) return;
    yield page;
    if (page.length < pageSize) return;
    afterPosition = page[page.length - 1]!.position;
  }
}
