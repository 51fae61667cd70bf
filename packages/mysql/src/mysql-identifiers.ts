import type { ResolvedTables, TableNames } from '@outboxkit/core';

/** Backtick-quotes an identifier. Names are already validated; doubling backticks is defence in depth. */
export function quoteIdentifier(name: string): string {
  return `\`${name.replace(/`/g, '``')}\``;
}

/** Each configured table as a quoted, schema-qualified name. */
export type QualifiedTables = Readonly<Record<keyof TableNames, string>>;

export function qualifyTables(tables: ResolvedTables): QualifiedTables {
  const prefix = tables.schema === null ? '' : `${quoteIdentifier(tables.schema)}.`;
  const entries = Object.entries(tables.names).map(([key, name]) => [key, prefix + quoteIdentifier(name)]);
  return Object.freeze(Object.fromEntries(entries) as Record<keyof TableNames, string>);
}
