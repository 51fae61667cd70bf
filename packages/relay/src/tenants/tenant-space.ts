import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { OutboxConfigError, type Dialect, type RelayConnector, type RelayDatabaseOptions, type SqlDatabase, type WakeSource } from '@outboxkit/core';
import { relayConnectorFor } from '../connect.js';
import { tenantName, type TenantSelection } from './tenant-options.js';

/** One tenant's outbox: its dialect (on its own tables) and the pool that reaches them. */
export interface TenantLocation {
  readonly name: string;
  readonly dialect: Dialect;
  readonly database: SqlDatabase;
  readonly wakeSources: readonly WakeSource[];
  /** Closes what belongs to this tenant alone (its SQLite file); a shared pool stays open. */
  close(): Promise<void>;
}

/** Where the tenants of one `--database-url` are, and how to open each one. */
export interface TenantSpace {
  readonly tenancy: 'schema' | 'file';
  /** The selected tenants that exist now: the fixed names, and the pattern's matches. */
  list(): Promise<string[]>;
  open(name: string): Promise<TenantLocation>;
  /** The database flags that name one tenant's outbox alone, for the one-outbox commands (`status`, `cleanup`). */
  flagsFor(name: string): { databaseUrl: string; schema?: string };
  close(): Promise<void>;
}

/**
 * The tenants' space behind `url`. On `schema` tenancy (PostgreSQL, MySQL) one pool (and one
 * LISTEN connection, fanned out) serves every tenant through schema-qualified tables; on `file`
 * tenancy (SQLite) every tenant is a file in the URL's directory, opened alone.
 */
export async function openTenantSpace(url: string, selection: TenantSelection, options: RelayDatabaseOptions): Promise<TenantSpace> {
  const connector = await relayConnectorFor(url);
  return connector.tenancy === 'file' ? fileSpace(connector, url, selection, options) : schemaSpace(connector, url, selection, options);
}

/** Which tenancy the URL's database has, without connecting (the flags are checked against it). */
export async function tenancyOf(url: string): Promise<'schema' | 'file'> {
  return (await relayConnectorFor(url)).tenancy;
}

async function schemaSpace(connector: RelayConnector, url: string, selection: TenantSelection, options: RelayDatabaseOptions): Promise<TenantSpace> {
  const shared = await connector.open(url, options);
  const perTenant = shared.wakeSources.map(fanOut);
  return {
    tenancy: 'schema',
    async list() {
      if (selection.pattern === null) return [...selection.names];
      // information_schema.schemata lists PostgreSQL's schemas and MySQL's databases alike.
      const { rows } = await shared.database.query<Record<string, unknown>>('SELECT schema_name AS name FROM information_schema.schemata');
      const found = rows.map((row) => String(row.name ?? row.NAME));
      return merge(selection, found, 'schema');
    },
    async open(name) {
      const dialect = connector.dialect(url, { ...options, tables: { ...options.tables, schema: name } });
      return { name, dialect, database: shared.database, wakeSources: perTenant.map((forTenant) => forTenant(name)), close: async () => {} };
    },
    flagsFor: (name) => ({ databaseUrl: url, schema: name }),
    close: () => shared.database.close(),
  };
}

function fileSpace(connector: RelayConnector, url: string, selection: TenantSelection, options: RelayDatabaseOptions): TenantSpace {
  const directory = connector.tenantDirectory!(url);
  const scheme = /^[a-z]+:/i.exec(url)![0];
  const fileUrl = (name: string): string => `${scheme}${join(directory, name)}`;
  return {
    tenancy: 'file',
    async list() {
      if (selection.pattern === null) return [...selection.names];
      let entries: string[];
      try {
        // SQLite's own companions of a database file (its WAL, shared memory, rollback journal) are no tenants.
        entries = readdirSync(directory).filter((entry) => !/-(wal|shm|journal)$/.test(entry) && statSync(join(directory, entry)).isFile());
      } catch (error) {
        throw new OutboxConfigError(
          '--database-url',
          `cannot list the tenants' directory ${directory}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        );
      }
      return merge(selection, entries, 'file');
    },
    async open(name) {
      const opened = await connector.open(fileUrl(name), options);
      return { name, ...opened, close: () => opened.database.close() };
    },
    flagsFor: (name) => ({ databaseUrl: fileUrl(name) }),
    async close() {},
  };
}

/** The fixed names, then the pattern's matches that are valid names, each once, in a stable order. */
function merge(selection: TenantSelection, found: readonly string[], tenancy: 'schema' | 'file'): string[] {
  const matches = found.filter((name) => selection.pattern!.test(name) && validName(name, tenancy));
  return [...new Set([...selection.names, ...matches.sort()])];
}

/** A matching name the relay could not use safely (a schema named with a dash) is not a tenant. */
function validName(name: string, tenancy: 'schema' | 'file'): boolean {
  try {
    tenantName(name, tenancy, 'tenant');
    return true;
  } catch {
    return false;
  }
}

/**
 * One subscription to `source` however many tenants' relays subscribe (a LISTEN connection per
 * tenant would cost a database connection each), routed by tenant: a commit the source names a
 * tenant for (PostgreSQL writers notify with their schema) wakes that tenant's relay only; one it
 * cannot place wakes every tenant's relay, which then claims (in its turn) and finds its own
 * events or nothing.
 */
export function fanOut(source: WakeSource): (tenant: string) => WakeSource {
  const wakes = new Map<() => void, string>();
  let unsubscribe: (() => void | Promise<void>) | null = null;
  const route = (where?: string): void => {
    for (const [wake, tenant] of wakes) if (where === undefined || where === tenant) wake();
  };
  return (tenant) => ({
    subscribe(wake) {
      const each = (): void => wake();
      wakes.set(each, tenant);
      unsubscribe ??= source.subscribe(route);
      return async () => {
        wakes.delete(each);
        if (wakes.size === 0 && unsubscribe !== null) {
          const stop = unsubscribe;
          unsubscribe = null;
          await stop();
        }
      };
    },
  });
}
