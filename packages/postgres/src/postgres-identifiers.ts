import type { ResolvedTables, TableNames } from '@outboxkit/core';

/**
 * Quotes an identifier for PostgreSQL. Every identifier reaching this point was validated by
 * core's `validateIdentifier` ([A-Za-z0-9_] only); quoting still doubles `"` so this function
 * is safe on its own, and keeps mixed-case names exactly as configured.
 */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."table"` when a schema is configured, otherwise `"table"` (the search_path decides). */
export function qualifiedTable(tables: ResolvedTables, table: keyof TableNames): string {
  const name = quoteIdentifier(tables.names[table]);
  return tables.schema === null ? name : `${quoteIdentifier(tables.schema)}.${name}`;
}

const MAX_IDENTIFIER_BYTES = 63;

/**
 * An index name derived from its table. PostgreSQL silently truncates names longer than 63
 * bytes, which could make two index names of one long table collide; truncating the table part
 * ourselves keeps every suffix (and so every index) distinct.
 */
export function indexName(tables: ResolvedTables, table: keyof TableNames, suffix: string): string {
  const base = tables.names[table].slice(0, MAX_IDENTIFIER_BYTES - suffix.length - 1);
  return quoteIdentifier(`${base}_${suffix}`);
}
