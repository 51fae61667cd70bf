import { OutboxConfigError } from './errors.js';

/** Checks an integer option against its range; the message names the option and the range. */
export function integerOption(value: unknown, option: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new OutboxConfigError(option, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value) ?? typeof value}`);
  }
  return value;
}

export function booleanOption(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new OutboxConfigError(option, `must be true or false, got ${JSON.stringify(value)}`);
  return value;
}

export function enumOption<T extends string>(value: unknown, option: string, fallback: T, allowed: readonly T[]): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new OutboxConfigError(option, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

export function requiredOption<T>(value: T | undefined | null, option: string, hint: string): T {
  if (value === undefined || value === null) throw new OutboxConfigError(option, `is required: ${hint}`);
  return value;
}
