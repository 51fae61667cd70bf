import { userInfo } from 'node:os';
import { OutboxConfigError, type Publisher } from '@outboxkit/core';
import { createOutboxAdmin, type OutboxAdmin } from '../admin/outbox-admin.js';
import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';

/** Where operations commands write: results on stdout, progress and notes on stderr. */
export interface CommandOutput {
  out(line: string): void;
  err(line: string): void;
}

const MAX_NAME = 255;

/** The flag that sets each admin option, so an error about `pageSize` says `--page-size`. */
const FLAG_OF_OPTION: Readonly<Record<string, string>> = {
  ids: '--id',
  aggregate: '--aggregate',
  'ids/aggregate/since': '--id/--aggregate/--since',
  since: '--since',
  until: '--until',
  destination: '--destination',
  pageSize: '--page-size',
  maxInFlight: '--max-in-flight',
  consumer: '--consumer',
  processedIds: '--ids-file',
  limit: '--limit',
  by: '--by',
  reason: '--reason',
  historyRetention: '--history-retention',
  inboxRetention: '--inbox-retention',
  batchSize: '--batch-size',
};

/** `error` reworded with the flag when it names an admin option; anything else unchanged. */
export function asFlagError(error: unknown, flagOf: Readonly<Record<string, string>> = FLAG_OF_OPTION): unknown {
  if (!(error instanceof OutboxConfigError)) return error;
  const flag = flagOf[error.option];
  return flag === undefined ? error : new OutboxConfigError(flag, error.message.slice(error.option.length + 2), { cause: error.cause });
}

/**
 * Runs an operations command on the admin API (see `createOutboxAdmin`), opened on the command's
 * database flags; `publisher` (opened first by the command, so a broker mistake fails before any
 * connection) is used for publishing and closed afterwards. Option errors name the flag.
 */
export async function withAdmin<T>(flags: DatabaseFlags, publisher: Publisher | null, work: (admin: OutboxAdmin) => Promise<T>): Promise<T> {
  try {
    const admin = await createOutboxAdmin({ database: requireDatabaseUrl(flags), tables: tableOptions(flags), ...(publisher ? { broker: publisher } : {}) });
    try {
      return await work(admin);
    } finally {
      await admin.close();
    }
  } catch (error) {
    throw asFlagError(error);
  } finally {
    await publisher?.close();
  }
}

/** Parses `--aggregate type:id`; the id may itself contain ':' (split at the first one). */
export function aggregateFlag(value: string): { type: string; id: string } {
  const colon = value.indexOf(':');
  const type = colon === -1 ? '' : value.slice(0, colon);
  const id = colon === -1 ? '' : value.slice(colon + 1);
  if (type === '' || id === '' || type.length > MAX_NAME || id.length > MAX_NAME) {
    throw new OutboxConfigError('--aggregate', `${JSON.stringify(value)} must be <aggregateType>:<aggregateId>, e.g. order:o-42`);
  }
  return { type, id };
}

/** Who runs the command, for `--by`: the OS account, which is what an audit trail can check. */
export function defaultOperator(): string {
  try {
    return userInfo().username || process.env.USER || 'unknown';
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
