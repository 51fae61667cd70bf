import { OutboxConfigError } from '../errors.js';

const UNIT_MS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const DURATION = /^(?:\d+(?:ms|s|m|h|d|w))+$/;
const DURATION_PART = /(\d+)(ms|s|m|h|d|w)/g;
// Date-only, or date and time with an optional fraction and zone. Anything looser (Date.parse
// accepts "1", "May 3") would turn a typo into a silently wrong window.
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Parses a duration such as `30m`, `2h`, `7d`, `1h30m` or `500ms` into milliseconds.
 * Throws {@link OutboxConfigError} naming `flag` when the text is not one.
 *
 * @example
 * parseDuration('1h30m', '--history-retention'); // 5_400_000
 */
export function parseDuration(text: string, flag: string): number {
  const value = text.trim().toLowerCase();
  if (!DURATION.test(value)) {
    throw new OutboxConfigError(flag, `${JSON.stringify(text)} is not a duration; use a number with a unit (ms, s, m, h, d, w), e.g. 30m, 2h, 7d or 1h30m`);
  }
  let total = 0;
  for (const [, amount, unit] of value.matchAll(DURATION_PART)) total += Number(amount) * UNIT_MS[unit!]!;
  if (!Number.isSafeInteger(total)) throw new OutboxConfigError(flag, `${JSON.stringify(text)} is too long a duration`);
  return total;
}

/**
 * Parses a point in time given on the command line: ISO-8601 (`2026-11-26T10:00:00Z`; without a
 * zone it is UTC, so the answer does not depend on the operator's machine), or a duration meaning
 * that long before `now` (`2h`, `30m ago`, `7d`). Pass the database's clock as `now`: history
 * times are database times.
 *
 * @example
 * parseTimeFlag('2h', '--since', dbNow); // dbNow minus two hours
 */
export function parseTimeFlag(text: string, flag: string, now: Date): Date {
  const value = text.trim();
  const relative = /^(.*?)(?:\s+ago)?$/i.exec(value)![1]!;
  if (DURATION.test(relative.toLowerCase())) return new Date(now.getTime() - parseDuration(relative, flag));
  if (ISO_8601.test(value)) {
    const hasZone = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(value) && value.length > 10;
    const normalised = value.replace(' ', 'T');
    const time = Date.parse(hasZone ? normalised : `${normalised.length === 10 ? `${normalised}T00:00:00` : normalised}Z`);
    if (!Number.isNaN(time)) return new Date(time);
  }
  throw new OutboxConfigError(
    flag,
    `${JSON.stringify(text)} is not a time; use ISO-8601 (e.g. 2026-11-26T10:00:00Z; UTC when no zone is given) or a duration ago (e.g. 2h, 30m, 7d)`,
  );
}
