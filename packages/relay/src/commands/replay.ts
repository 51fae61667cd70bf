import { OutboxConfigError, OutboxError, parseTimeFlag, replayHistory, type HistoryEvent, type HistoryQuery, type ReplayResult } from '@outboxkit/core';
import { createBrokerPublisher, eventDescriber, replayNote, type BrokerFlags } from '../brokers.js';
import { openDatabaseAfter } from '../connect.js';
import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';
import { aggregateFlag, errorText, eventIds, nameFlag, rangeFlag, type CommandOutput } from './operations-shared.js';

export interface ReplayFlags extends DatabaseFlags, BrokerFlags {
  id?: string[];
  aggregate?: string;
  since?: string;
  until?: string;
  destination?: string;
  dryRun?: boolean;
  pageSize?: number;
  maxInFlight?: number;
}

export const REPLAY_DEFAULTS = Object.freeze({ pageSize: 500, maxInFlight: 64 });

/**
 * `outbox-relay replay`: re-publishes events from the history table with their original ids and
 * sequences, straight to the broker, so consumers' inboxes drop what they already processed.
 * `--dry-run` lists what would be sent and sends nothing.
 *
 * @example
 * outbox-relay replay --since 2026-11-26T10:00:00Z --until 2026-11-26T11:00:00Z --dry-run
 */
export async function replayCommand(flags: ReplayFlags, io: CommandOutput): Promise<ReplayResult> {
  const ids = flags.id === undefined ? undefined : eventIds(flags.id, '--id');
  const aggregate = flags.aggregate === undefined ? undefined : aggregateFlag(flags.aggregate);
  if (ids === undefined && aggregate === undefined && flags.since === undefined) {
    throw new OutboxConfigError('--id/--aggregate/--since', 'say what to replay: --id <id>..., --aggregate <type>:<id> or --since <time> (filters combine)');
  }
  const destination = flags.destination === undefined ? undefined : nameFlag(flags.destination, '--destination');
  const pageSize = rangeFlag(flags.pageSize, '--page-size', REPLAY_DEFAULTS.pageSize, 1, 10_000);
  const maxInFlight = rangeFlag(flags.maxInFlight, '--max-in-flight', REPLAY_DEFAULTS.maxInFlight, 1, 10_000);

  // Before the database, so a missing broker package fails fast.
  const describeEvent = flags.dryRun ? await eventDescriber(flags) : null;
  const publisher = flags.dryRun ? null : await createBrokerPublisher(flags);
  const note = replayNote(flags);
  if (note !== undefined) io.err(note);
  const target = await openDatabaseAfter(publisher, requireDatabaseUrl(flags), { tables: tableOptions(flags) });
  try {
    const window = await timeWindow(flags, () => target.dialect.currentTime(target.database));
    const query: Omit<HistoryQuery, 'afterPosition'> = {
      ...(ids ? { ids } : {}),
      ...(aggregate ? { aggregate } : {}),
      ...window,
    };
    const found = new Set<string>();
    const result = await replayHistory({
      dialect: target.dialect,
      database: target.database,
      publisher,
      query,
      pageSize,
      maxInFlight,
      ...(destination ? { transform: (event: HistoryEvent) => ({ ...event, destination }) } : {}),
      onEvent(event) {
        found.add(event.id);
        if (describeEvent) io.out(describeEvent(event));
      },
      // One line per page: a short replay stays quiet, a long one shows it is moving.
      onProgress(progress) {
        if (progress.read >= pageSize) {
          io.err(`replay: ${progress.read} read, ${flags.dryRun ? 'dry run' : `${progress.sent} sent`} (up to position ${progress.lastPosition})`);
        }
      },
    });
    io.out(summary(result, flags.dryRun === true));
    if (result.failure !== null) {
      const { event, error } = result.failure;
      throw new OutboxError(
        'OUTBOX_REPLAY_FAILED',
        `replay stopped at event ${event.id} (${event.aggregateType}:${event.aggregateId} #${event.sequence}, position ${event.position}): ${errorText(error)}. ` +
          "Fix the cause and run the same command again: events already sent are duplicates the consumers' inboxes drop.",
      );
    }
    const missing = (ids ?? []).filter((id) => !found.has(id));
    if (missing.length > 0) {
      throw new OutboxError(
        'OUTBOX_NOT_IN_HISTORY',
        `not in the history table: ${missing.join(', ')} (still pending or quarantined: see \`status\` and \`quarantine list\`; or removed by cleanup)`,
      );
    }
    return result;
  } finally {
    await publisher?.close();
    await target.database.close();
  }
}

/** `--since`/`--until` as dates; relative forms count back from the database clock. */
export async function timeWindow(flags: { since?: string; until?: string }, now: () => Promise<Date>): Promise<{ since?: Date; until?: Date }> {
  if (flags.since === undefined && flags.until === undefined) return {};
  const clock = await now();
  const since = flags.since === undefined ? undefined : parseTimeFlag(flags.since, '--since', clock);
  const until = flags.until === undefined ? undefined : parseTimeFlag(flags.until, '--until', clock);
  if (since && until && until.getTime() <= since.getTime()) {
    throw new OutboxConfigError('--until', `${until.toISOString()} is not after --since ${since.toISOString()}; swap them or widen the window`);
  }
  return { ...(since ? { since } : {}), ...(until ? { until } : {}) };
}

function summary(result: ReplayResult, dryRun: boolean): string {
  const what = `${result.selected} event(s) of ${result.aggregates} aggregate(s)`;
  if (dryRun) return `dry run: ${what} would be replayed; nothing was sent`;
  return result.failure === null ? `replayed ${what} with their original ids` : `replay stopped: ${result.sent} of ${what} sent`;
}
