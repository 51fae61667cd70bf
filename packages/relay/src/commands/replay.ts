import { OutboxError, type ReplayResult } from '@outboxkit/core';
import { ADMIN_DEFAULTS } from '../admin/outbox-admin.js';
import { createBrokerPublisher, eventDescriber, replayNote, type BrokerFlags } from '../brokers.js';
import type { DatabaseFlags } from '../config.js';
import { aggregateFlag, errorText, withAdmin, type CommandOutput } from './operations-shared.js';

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

/**
 * `outbox-relay replay`: re-publishes events from the history table with their original ids and
 * sequences, straight to the broker, so consumers' inboxes drop what they already processed.
 * `--dry-run` lists what would be sent and sends nothing.
 *
 * @example
 * outbox-relay replay --since 2026-11-26T10:00:00Z --until 2026-11-26T11:00:00Z --dry-run
 */
export async function replayCommand(flags: ReplayFlags, io: CommandOutput): Promise<ReplayResult> {
  const selection = {
    ...(flags.id === undefined ? {} : { ids: flags.id }),
    ...(flags.aggregate === undefined ? {} : { aggregate: aggregateFlag(flags.aggregate) }),
    ...(flags.since === undefined ? {} : { since: flags.since }),
    ...(flags.until === undefined ? {} : { until: flags.until }),
  };
  // Before the database, so a broker mistake (flag, missing package) fails fast.
  const describeEvent = flags.dryRun ? await eventDescriber(flags) : null;
  const note = replayNote(flags);
  if (note !== undefined) io.err(note);
  const pageSize = flags.pageSize ?? ADMIN_DEFAULTS.pageSize;
  const result = await withAdmin(flags, flags.dryRun ? null : () => createBrokerPublisher(flags), (admin) =>
    admin.replay(selection, {
      dryRun: flags.dryRun === true,
      ...(flags.destination === undefined ? {} : { destination: flags.destination }),
      ...(flags.pageSize === undefined ? {} : { pageSize: flags.pageSize }),
      ...(flags.maxInFlight === undefined ? {} : { maxInFlight: flags.maxInFlight }),
      onEvent(event) {
        if (describeEvent) io.out(describeEvent(event));
      },
      // One line per page: a short replay stays quiet, a long one shows it is moving.
      onProgress(progress) {
        if (progress.read >= pageSize) {
          io.err(`replay: ${progress.read} read, ${flags.dryRun ? 'dry run' : `${progress.sent} sent`} (up to position ${progress.lastPosition})`);
        }
      },
    }),
  );
  io.out(summary(result, flags.dryRun === true));
  if (result.failure !== null) {
    const { event, error } = result.failure;
    throw new OutboxError(
      'OUTBOX_REPLAY_FAILED',
      `replay stopped at event ${event.id} (${event.aggregateType}:${event.aggregateId} #${event.sequence}, position ${event.position}): ${errorText(error)}. ` +
        "Fix the cause and run the same command again: events already sent are duplicates the consumers' inboxes drop.",
    );
  }
  if (result.notInHistory.length > 0) {
    throw new OutboxError(
      'OUTBOX_NOT_IN_HISTORY',
      `not in the history table: ${result.notInHistory.join(', ')} (still pending or quarantined: see \`status\` and \`quarantine list\`; or removed by cleanup)`,
    );
  }
  return result;
}

function summary(result: ReplayResult, dryRun: boolean): string {
  const what = `${result.selected} event(s) of ${result.aggregates} aggregate(s)`;
  if (dryRun) return `dry run: ${what} would be replayed; nothing was sent`;
  return result.failure === null ? `replayed ${what} with their original ids` : `replay stopped: ${result.sent} of ${what} sent`;
}
