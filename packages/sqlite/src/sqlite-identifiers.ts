/** Table names are validated by core's `resolveTables`; quoting is the second line of defence. */
export function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
