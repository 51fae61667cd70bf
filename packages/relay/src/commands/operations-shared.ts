import { userInfo } from 'node:os';
import { OutboxConfigError, type Publisher } from '@outboxkit/core';
import { createOutboxAdmin, type OutboxAdmin } from '../admin/outbox-admin.js';
import { requireDatabaseUrl, tableOptions, type DatabaseFlags } from '../config.js';
import { ADMIN_OPTION_FLAGS, underFlag } from '../flag-errors.js';

/** Where operations commands write: results on stdout, progress and notes on stderr. */
export interface CommandOutput {
  out(line: string): void;
  err(line: string): void;
}

const MAX_NAME = 255;

/**
 * Runs an operations command on the admin API (see `createOutboxAdmin`), opened on the command's
 * database flags. `openPublisher` runs after the database flags are checked (a refused flag must
 * not leave a broker connection open) and before the database opens (a broker mistake fails
 * before any database connection); its publisher is closed afterwards. Option errors name the flag.
 */
export async function withAdmin<T>(
  flags: DatabaseFlags,
  openPublisher: (() => Promise<Publisher>) | null,
  work: (admin: OutboxAdmin) => Promise<T>,
): Promise<T> {
  const database = requireDatabaseUrl(flags);
  const tables = tableOptions(flags);
  const publisher = openPublisher === null ? null : await openPublisher();
  try {
    const admin = await createOutboxAdmin({ database, tables, ...(publisher ? { broker: publisher } : {}) });
    try {
      return await work(admin);
    } finally {
      await admin.close();
    }
  } catch (error) {
    throw underFlag(error, ADMIN_OPTION_FLAGS);
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
