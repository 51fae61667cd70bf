import { OutboxConfigError } from './errors.js';

/**
 * The checks every dialect factory's options share, before any SQL could be built from them:
 * a plain object, only the keys the dialect knows (a misspelt `tabels` is an error, not a
 * silently ignored key), and `tables`, when given, an object. Each problem is an
 * `OutboxConfigError` naming the option.
 *
 * @example
 * checkDialectOptions(options, ['tables', 'notify']);
 */
export function checkDialectOptions(options: unknown, known: readonly string[]): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new OutboxConfigError('options', `expected an object like { ${known.join(', ')} }, got ${describeKind(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) throw new OutboxConfigError(key, `unknown option; known: ${known.join(', ')}`);
  }
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
