import { OutboxConfigError } from './errors.js';

/** The tables outboxkit uses. Every name is validated as a plain identifier and quoted by the dialect. */
export interface TableNames {
  /** Pending events only, so the hot table stays small. */
  events: string;
  /** Last sequence per aggregate; its row lock serialises writers of one aggregate. */
  sequences: string;
  /** Published history, for replay and reconciliation. */
  published: string;
  /** Poison events and parked aggregates. */
  quarantine: string;
  /** Shard ownership with expiry and fencing epoch. */
  leases: string;
  /** Live relays, so shards can be split evenly. */
  relays: string;
  /** Applied schema versions. */
  migrations: string;
  /** Consumer side: message ids each consumer has processed (the inbox; migration 2). */
  inbox: string;
  /** Consumer side: last applied sequence per (consumer, aggregate), for the ordering guard (migration 2). */
  inboxSequences: string;
}

export interface TableOptions {
  /**
   * Schema (PostgreSQL) or database (MySQL) holding the tables; default: the connection's.
   * @example 'app'
   */
  schema?: string;
  /**
   * Prefix of every table name.
   * @default 'outbox_'
   */
  prefix?: string;
  /** Override single table names, e.g. `{ events: 'my_outbox' }`. */
  names?: Partial<TableNames>;
}

export interface ResolvedTables {
  readonly schema: string | null;
  readonly names: Readonly<TableNames>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_IDENTIFIER = 63; // PostgreSQL's limit, the strictest of the three

/**
 * Validates an identifier from configuration. Dialects quote it as well, but rejecting anything
 * outside [A-Za-z0-9_] means no configuration value can ever change the meaning of a statement.
 */
export function validateIdentifier(value: unknown, option: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value) || value.length > MAX_IDENTIFIER) {
    const shown = typeof value === 'string' ? JSON.stringify(value) : typeof value;
    throw new OutboxConfigError(
      option,
      `${shown} is not a valid identifier: use 1-${MAX_IDENTIFIER} letters, digits or underscores, not starting with a digit`,
    );
  }
  return value;
}

export function resolveTables(options: TableOptions = {}): ResolvedTables {
  const schema = options.schema === undefined ? null : validateIdentifier(options.schema, 'tables.schema');
  const prefix = options.prefix ?? 'outbox_';
  if (prefix !== '') validateIdentifier(prefix, 'tables.prefix');
  const defaults: TableNames = {
    events: `${prefix}events`,
    sequences: `${prefix}sequences`,
    published: `${prefix}published`,
    quarantine: `${prefix}quarantine`,
    leases: `${prefix}leases`,
    relays: `${prefix}relays`,
    migrations: `${prefix}migrations`,
    inbox: `${prefix}inbox`,
    inboxSequences: `${prefix}inbox_sequences`,
  };
  const names = { ...defaults };
  for (const [key, value] of Object.entries(options.names ?? {})) {
    if (!(key in defaults)) throw new OutboxConfigError(`tables.names.${key}`, `unknown table; known: ${Object.keys(defaults).join(', ')}`);
    names[key as keyof TableNames] = validateIdentifier(value, `tables.names.${key}`);
  }
  for (const [key, value] of Object.entries(names)) validateIdentifier(value, `tables.names.${key}`);
  return Object.freeze({ schema, names: Object.freeze(names) });
}
