import { userInfo } from 'node:os';
import { OutboxConfigError } from '@outboxkit/core';

/** Where operations commands write: results on stdout, progress and notes on stderr. */
export interface CommandOutput {
  out(line: string): void;
  err(line: string): void;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const MAX_NAME = 255;

/** Checks event ids given on the command line; lower-cased as the writer stores them. */
export function eventIds(values: readonly string[], flag: string): string[] {
  return values.map((value) => {
    const id = value.trim();
    if (!UUID.test(id))
      throw new OutboxConfigError(
        flag,
        `${JSON.stringify(value)} is not an event id; event ids are UUIDs (see \`quarantine list\` or the message's messageId)`,
      );
    return id.toLowerCase();
  });
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

/** A free-text flag stored in a varchar(255) column (`--by`, `--destination`). */
export function nameFlag(value: string, flag: string): string {
  const text = value.trim();
  if (text === '' || text.length > MAX_NAME) throw new OutboxConfigError(flag, `must be 1-${MAX_NAME} characters, got ${text.length}`);
  return text;
}

/** Who runs the command, for `--by`: the OS account, which is what an audit trail can check. */
export function defaultOperator(): string {
  try {
    return userInfo().username || process.env.USER || 'unknown';
  } catch {
    return process.env.USER ?? 'unknown';
  }
}

/** A positive integer flag with a range, named in the error. */
export function rangeFlag(value: number | undefined, flag: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) throw new OutboxConfigError(flag, `must be an integer from ${min} to ${max}, got ${value}`);
  return value;
}

export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
