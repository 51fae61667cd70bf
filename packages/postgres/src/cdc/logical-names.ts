import { OutboxConfigError, type LogicalSourceNames, type ResolvedTables } from '@outboxkit/core';

/** Resolved slot and publication names. */
export interface ResolvedLogicalNames {
  readonly slot: string;
  readonly publication: string;
}

// PostgreSQL's own rule for slot names (ReplicationSlotValidateName); publications follow it too
// here, so one validation covers both and every name is safe to quote.
const SLOT_NAME = /^[a-z0-9_]{1,63}$/;

/**
 * The slot and publication of one outbox table: `<schema>_<events table>_outbox` by default
 * (lowercased), so two schemas of one database never share a slot.
 */
export function resolveLogicalNames(tables: ResolvedTables, names: LogicalSourceNames = {}): ResolvedLogicalNames {
  const derived = `${tables.schema ?? 'public'}_${tables.names.events}_outbox`.toLowerCase();
  return Object.freeze({
    slot: checkedName(names.slot ?? derived, '--slot'),
    publication: checkedName(names.publication ?? derived, '--publication'),
  });
}

function checkedName(name: string, option: string): string {
  if (SLOT_NAME.test(name)) return name;
  throw new OutboxConfigError(
    option,
    `${JSON.stringify(name)} is not a valid replication slot or publication name: use 1-63 lowercase letters, digits or _ (pass ${option} <name>)`,
  );
}
