import { writeEvents, type EventInput, type OutboxStatus, type QuarantineEntry, type WrittenEvent } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import type { DeliveryLog } from '@outboxkit/testkit';
import type { TestDatabase } from './databases.js';
import { runCli, type CliResult } from './relay-process.js';

/** The flags that point the CLI at a test database. */
export function databaseFlags(db: TestDatabase): string[] {
  return ['--database-url', db.url, ...(db.schema ? ['--schema', db.schema] : [])];
}

/** Runs the CLI and fails with its output when the exit code is not the expected one. */
export async function cli(args: readonly string[], expectedCode = 0): Promise<CliResult> {
  const result = await runCli(args);
  if (result.code !== expectedCode) {
    throw new Error(`outbox-relay ${args[0]} exited ${result.code} (expected ${expectedCode})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
  return result;
}

export function openTarget(db: TestDatabase): Promise<DatabaseTarget> {
  return openDatabase(db.url, { tables: db.schema ? { schema: db.schema } : {} });
}

/** Writes each event in its own transaction and records it as committed in `log`. */
export async function writeCommitted(target: DatabaseTarget, log: DeliveryLog | null, events: readonly EventInput[]): Promise<WrittenEvent[]> {
  const written: WrittenEvent[] = [];
  for (const event of events) {
    const [one] = await target.database.transaction((tx) => writeEvents(target.dialect, tx, event));
    written.push(one!);
    log?.attempted(one!, 'committed');
  }
  return written;
}

/** `aggregate` x `count` events of one type, in sequence order. */
export function eventsOf(aggregateType: string, aggregateId: string, count: number, destination?: string): EventInput[] {
  return Array.from({ length: count }, (_, i) => ({
    aggregateType,
    aggregateId,
    type: `${aggregateType}.changed`,
    payload: { n: i + 1 },
    ...(destination ? { destination } : {}),
  }));
}

export async function statusOf(dbFlags: readonly string[]): Promise<OutboxStatus> {
  return JSON.parse((await cli(['status', '--json', ...dbFlags])).stdout) as OutboxStatus;
}

export async function quarantineList(dbFlags: readonly string[], all = false): Promise<QuarantineEntry[]> {
  return JSON.parse((await cli(['quarantine', 'list', '--json', ...(all ? ['--all'] : []), ...dbFlags])).stdout) as QuarantineEntry[];
}

/** The history table, schema-qualified and quoted the way the test database's dialect quotes it. */
export function historyTable(db: TestDatabase): string {
  if (db.kind === 'MariaDB') return `\`${db.schema}\`.\`outbox_published\``;
  if (db.kind === 'PostgreSQL') return `"${db.schema}"."outbox_published"`;
  return '"outbox_published"';
}

/** SQL that moves `published_at` of the given positions `days` into the past, per database. */
export function backdateHistory(db: TestDatabase, positions: readonly number[], days: number): string {
  const list = positions.map((p) => Number(p)).join(', ');
  const table = historyTable(db);
  switch (db.kind) {
    case 'PostgreSQL':
      return `UPDATE ${table} SET published_at = published_at - interval '${days} days' WHERE position IN (${list})`;
    case 'MariaDB':
      return `UPDATE ${table} SET published_at = DATE_SUB(published_at, INTERVAL ${days} DAY) WHERE position IN (${list})`;
    case 'SQLite':
      return `UPDATE ${table} SET published_at = published_at - ${days * 86_400_000} WHERE position IN (${list})`;
  }
}

export const UUID_LINE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;
