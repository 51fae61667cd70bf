import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { inboxOperationsOf, OutboxConfigError, OutboxError, replayHistory, type HistoryEvent } from '@outboxkit/core';
import { createBrokerPublisher, type BrokerFlags } from '../brokers.js';
import { openDatabaseAfter } from '../connect.js';
import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';
import { timeWindow } from './replay.js';
import { errorText, nameFlag, rangeFlag, type CommandOutput } from './operations-shared.js';

export interface ReconcileFlags extends DatabaseFlags, BrokerFlags {
  consumer?: string;
  since?: string;
  until?: string;
  idsFile?: string;
  replay?: boolean;
  pageSize?: number;
  maxInFlight?: number;
}

export interface ReconcileResult {
  /** History rows in the window. */
  readonly checked: number;
  /** Ids the consumer never recorded, in position order. */
  readonly missing: readonly string[];
  /** Of those, how many were re-published (`--replay`). */
  readonly replayed: number;
}

/**
 * `outbox-relay reconcile`: which events published in a window did a consumer never record?
 * Compared with the consumer's inbox table when it is in this database, or with an exported
 * list of the ids it processed (`--ids-file`, one id per line). `--replay` re-publishes exactly
 * the missing ones, with their original ids.
 *
 * @example
 * outbox-relay reconcile --consumer billing --since 2026-11-26T10:00:00Z --until 2026-11-26T11:00:00Z
 */
export async function reconcileCommand(flags: ReconcileFlags, io: CommandOutput): Promise<ReconcileResult> {
  if (flags.consumer === undefined) throw new OutboxConfigError('--consumer', 'is required: the consumer name its inbox rows are recorded under');
  const consumer = nameFlag(flags.consumer, '--consumer');
  if (flags.since === undefined) throw new OutboxConfigError('--since', 'is required: the start of the window to check, e.g. 2h or 2026-11-26T10:00:00Z');
  const pageSize = rangeFlag(flags.pageSize, '--page-size', 500, 1, 10_000);
  const maxInFlight = rangeFlag(flags.maxInFlight, '--max-in-flight', 64, 1, 10_000);
  const recorded = flags.idsFile === undefined ? null : await readIdsFile(flags.idsFile);

  const publisher = flags.replay ? await createBrokerPublisher(flags) : null;
  const target = await openDatabaseAfter(publisher, requireDatabaseUrl(flags), { tables: tableOptions(flags) });
  const inbox = inboxOperationsOf(target.dialect);
  try {
    if (recorded === null && inbox === null) {
      throw new OutboxConfigError(
        '--ids-file',
        `the ${target.dialect.name} dialect has no inbox table support here; export the ids consumer "${consumer}" processed, one per line, and pass the file`,
      );
    }
    const window = await timeWindow(flags, () => target.dialect.currentTime(target.database));
    const missing: string[] = [];
    const select = async (page: HistoryEvent[]): Promise<HistoryEvent[]> => {
      const seen =
        recorded ??
        new Set(
          await inbox!.inboxContains(
            target.database,
            consumer,
            page.map((event) => event.id),
          ),
        );
      return page.filter((event) => !seen.has(event.id));
    };
    const result = await replayHistory({
      dialect: target.dialect,
      database: target.database,
      publisher,
      query: window,
      pageSize,
      maxInFlight,
      select,
      onEvent(event) {
        missing.push(event.id);
        io.out(event.id);
      },
      onProgress(progress) {
        if (progress.read >= pageSize) io.err(`reconcile: ${progress.read} checked, ${progress.selected} missing (up to position ${progress.lastPosition})`);
      },
    });
    const range = `${window.since!.toISOString()} .. ${window.until?.toISOString() ?? 'now'}`;
    io.out(
      `${missing.length} of ${result.read} event(s) published ${range} missing from consumer "${consumer}"` +
        `${recorded === null ? "'s inbox" : ` (compared with ${recorded.size} id(s) from --ids-file)`}` +
        `${flags.replay ? `; ${result.sent} replayed` : ''}`,
    );
    if (result.failure !== null) {
      throw new OutboxError(
        'OUTBOX_REPLAY_FAILED',
        `replay stopped at event ${result.failure.event.id}: ${errorText(result.failure.error)}. Fix the cause and run the same command again.`,
      );
    }
    return { checked: result.read, missing, replayed: result.sent };
  } finally {
    await publisher?.close();
    await target.database.close();
  }
}

/**
 * Reads an exported id list: one id per line; blank lines and `#` comments are ignored. Ids are
 * lower-cased as the writer stores them. Streamed, so a large export is read line by line.
 */
export async function readIdsFile(path: string): Promise<Set<string>> {
  const ids = new Set<string>();
  try {
    const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
    for await (const line of lines) {
      const id = line.trim();
      if (id !== '' && !id.startsWith('#')) ids.add(id.toLowerCase());
    }
  } catch (error) {
    throw new OutboxConfigError('--ids-file', `cannot read ${JSON.stringify(path)}: ${errorText(error)}`);
  }
  return ids;
}
