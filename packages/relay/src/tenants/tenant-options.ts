import { integerOption, OutboxConfigError, validateIdentifier } from '@outboxkit/core';
import type { DatabaseFlags } from '../config.js';

/** The flags that make a command serve many tenants instead of one outbox. */
export interface TenantFlags {
  /** Comma-separated tenant names: schemas (PostgreSQL), databases (MySQL) or file names in the `--database-url` directory (SQLite). */
  tenants?: string;
  /** A glob (`*`, `?`) over the same names; the relay re-scans it every `--tenant-rescan-interval-ms`. */
  tenantPattern?: string;
  tenantRescanIntervalMs?: number;
  /** Claim-publish cycles at once across every tenant of the process. */
  tenantConcurrency?: number;
  /** Metrics carry a `tenant` label while the tenant count is at most this; above it, none. */
  tenantLabelMax?: number;
}

/** Which tenants a command serves: fixed names, a pattern to re-scan, or both. */
export interface TenantSelection {
  readonly names: readonly string[];
  /** The pattern as a regular expression over whole names, or null. */
  readonly pattern: RegExp | null;
}

export const TENANT_DEFAULTS = Object.freeze({ rescanIntervalMs: 30_000, concurrency: 16, labelMax: 100 });

/** SQLite file names: a little wider than identifiers (dots and dashes), never a path. */
const FILE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,254}$/;

/**
 * The tenants `flags` select, or null when the command serves one outbox. `tenancy` is the
 * database's (`schema` names are identifiers; `file` names are file names, never paths).
 * Mistakes name the flag (or, through the config file, its key).
 */
export function tenantSelection(flags: TenantFlags & DatabaseFlags, tenancy: 'schema' | 'file'): TenantSelection | null {
  if (flags.tenants === undefined && flags.tenantPattern === undefined) return null;
  if (flags.schema !== undefined && flags.schema !== '') {
    throw new OutboxConfigError('--schema', 'cannot be combined with --tenants or --tenant-pattern: each tenant is its own schema; remove --schema');
  }
  const names = (flags.tenants ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '')
    .map((name) => tenantName(name, tenancy, '--tenants'));
  if (flags.tenants !== undefined && names.length === 0)
    throw new OutboxConfigError('--tenants', 'names no tenant; give a comma-separated list, e.g. acme,globex');
  return Object.freeze({ names: [...new Set(names)], pattern: flags.tenantPattern === undefined ? null : globPattern(flags.tenantPattern, tenancy) });
}

/** A tenant name as a schema/database identifier, or a plain file name (no directory). */
export function tenantName(name: string, tenancy: 'schema' | 'file', flag: string): string {
  if (tenancy === 'schema') return validateIdentifier(name, flag);
  if (!FILE_NAME.test(name) || name === '.' || name === '..') {
    throw new OutboxConfigError(
      flag,
      `${JSON.stringify(name)} is not a file name in the --database-url directory: use letters, digits, '_', '.', '-' (no '/')`,
    );
  }
  return name;
}

/** `tenant_*` as an anchored regular expression; the glob may use `*` and `?` besides the name's own characters. */
function globPattern(glob: string, tenancy: 'schema' | 'file'): RegExp {
  const allowed = tenancy === 'schema' ? /^[A-Za-z0-9_*?]+$/ : /^[A-Za-z0-9_.*?-]+$/;
  if (!allowed.test(glob)) {
    throw new OutboxConfigError(
      '--tenant-pattern',
      `${JSON.stringify(glob)} may use only ${tenancy === 'schema' ? 'letters, digits, _' : "letters, digits, _, '.', '-'"} and the wildcards * and ?, e.g. tenant_*`,
    );
  }
  const source = glob.replace(/[.*?-]/g, (c) => (c === '*' ? '.*' : c === '?' ? '.' : `\\${c}`));
  return new RegExp(`^${source}$`);
}

/** The numeric tenant flags, range-checked under their names. */
export function tenantLimits(flags: TenantFlags): { rescanIntervalMs: number; concurrency: number; labelMax: number } {
  return {
    rescanIntervalMs: integerOption(flags.tenantRescanIntervalMs, '--tenant-rescan-interval-ms', TENANT_DEFAULTS.rescanIntervalMs, 1000, 86_400_000),
    concurrency: integerOption(flags.tenantConcurrency, '--tenant-concurrency', TENANT_DEFAULTS.concurrency, 1, 1000),
    labelMax: integerOption(flags.tenantLabelMax, '--tenant-label-max', TENANT_DEFAULTS.labelMax, 0, 10_000),
  };
}

/** Whether the command serves many tenants (`--tenants` or `--tenant-pattern`). */
export function servesTenants(flags: TenantFlags): boolean {
  return flags.tenants !== undefined || flags.tenantPattern !== undefined;
}
