import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { OutboxConfigError, OutboxError } from '@outboxkit/core';
import { ADMIN_DEFAULTS, type ReconcileResult } from '../admin/outbox-admin.js';
import { createBrokerPublisher, type BrokerFlags } from '../brokers.js';
import type { DatabaseFlags } from '../config.js';
import { errorText, withAdmin, type CommandOutput } from './operations-shared.js';

export interface ReconcileFlags extends DatabaseFlags, BrokerFlags {
  consumer?: string;
  since?: string;
  until?: string;
  idsFile?: string;
  replay?: boolean;
  pageSize?: number;
  maxInFlight?: number;
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
  const recorded = flags.idsFile === undefined ? null : await readIdsFile(flags.idsFile);
  const pageSize = flags.pageSize ?? ADMIN_DEFAULTS.pageSize;
  const result = await withAdmin(flags, flags.replay ? () => createBrokerPublisher(flags) : null, (admin) =>
    admin.reconcile({
      consumer: flags.consumer as string,
      since: flags.since as string,
      ...(flags.until === undefined ? {} : { until: flags.until }),
      ...(recorded === null ? {} : { processedIds: recorded }),
      replay: flags.replay === true,
      ...(flags.pageSize === undefined ? {} : { pageSize: flags.pageSize }),
      ...(flags.maxInFlight === undefined ? {} : { maxInFlight: flags.maxInFlight }),
      onMissing: (event) => io.out(event.id),
      onProgress(progress) {
        if (progress.read >= pageSize) io.err(`reconcile: ${progress.read} checked, ${progress.selected} missing (up to position ${progress.lastPosition})`);
      },
    }),
  );
  const range = `${result.since.toISOString()} .. ${result.until?.toISOString() ?? 'now'}`;
  io.out(
    `${result.missing.length} of ${result.checked} event(s) published ${range} missing from consumer "${flags.consumer?.trim()}"` +
      `${recorded === null ? "'s inbox" : ` (compared with ${recorded.size} id(s) from --ids-file)`}` +
      `${flags.replay ? `; ${result.replayed} replayed` : ''}`,
  );
  if (result.failure !== null) {
    throw new OutboxError(
      'OUTBOX_REPLAY_FAILED',
      `replay stopped at event ${result.failure.event.id}: ${errorText(result.failure.error)}. Fix the cause and run the same command again.`,
    );
  }
  return result;
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
