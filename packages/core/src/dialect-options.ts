import { OutboxConfigError } from './errors.js';

/**
 * The check every options object of outboxkit's own (closed) option sets gets: a plain object
 * with only the keys it knows, so a misspelt key is an `OutboxConfigError` naming it instead of a
 * silently ignored setting. `path` prefixes nested keys (`reconnect.`).
 *
 * @example
 * checkKnownOptions(options, ['connect', 'channel', 'onError']);
 */
export function checkKnownOptions(options: unknown, known: readonly string[], path = ''): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new OutboxConfigError(path === '' ? 'options' : path.slice(0, -1), `expected an object like { ${known.join(', ')} }, got ${describeKind(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new OutboxConfigError(`${path}${key}`, `unknown option; known: ${known.join(', ')}`);
  }
}

/**
 * The checks every dialect factory's options share, before any SQL could be built from them:
 * {@link checkKnownOptions}, and `tables`, when given, an object. Each problem is an
 * `OutboxConfigError` naming the option.
 *
 * @example
 * checkDialectOptions(options, ['tables', 'notify']);
 */
export function checkDialectOptions(options: unknown, known: readonly string[]): void {
  checkKnownOptions(options, known);
  const { tables } = options as { tables?: unknown };
  if (tables !== undefined && (tables === null || typeof tables !== 'object' || Array.isArray(tables))) {
    throw new OutboxConfigError('tables', `expected an object like { schema, prefix, names }, got ${describeKind(tables)}`);
  }
}

/** What kind of value a wrong option holds, for messages: never the value itself (it may be a secret). */
export function describeKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}
