import { OutboxConfigError } from './errors.js';

/**
 * Memoizes a dialect factory by its options, for the raw-driver `enqueue` helpers: callers
 * often pass a fresh options literal per call, and building a dialect validates every name and
 * builds every statement. Options are compared by value (JSON with sorted keys).
 *
 * @example
 * const dialectFor = cachedDialect(createPostgresDialect);
 * dialectFor({ tables: { schema: 'app' } }) === dialectFor({ tables: { schema: 'app' } }); // true
 */
export function cachedDialect<Options extends object, D>(create: (options?: Options) => D): (options?: Options) => D {
  const byOptions = new Map<string, D>();
  return (options) => {
    const key = stableJson(options ?? {});
    let dialect = byOptions.get(key);
    if (dialect === undefined) {
      dialect = create(options);
      byOptions.set(key, dialect);
    }
    return dialect;
  };
}

/**
 * The dialect an `enqueue` call writes with: the `dialect` it was given, or the one built (once)
 * from the remaining options. Giving both is refused, because the dialect already fixes them.
 */
export function enqueueDialect<D, Options extends object>(options: Options & { dialect?: D }, dialectFor: (options?: Options) => D): D {
  const { dialect, ...dialectOptions } = options;
  if (dialect === undefined) return dialectFor(dialectOptions as Options);
  const extra = Object.keys(dialectOptions);
  if (extra.length > 0) {
    throw new OutboxConfigError(
      'dialect',
      `expected either a dialect or ${extra.join('/')}, not both: give either \`dialect\` or \`${extra.join('`/`')}\` (the dialect already fixes ${extra.length === 1 ? 'it' : 'them'})`,
    );
  }
  return dialect;
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === 'object' && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}
