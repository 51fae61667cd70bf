import { writeEvents, type EventInput, type OutboxStatus, type QuarantineEntry, type WrittenEvent } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import { collectQueue, serviceUrl, uniqueName, type DeliveryLog, type QueueCollector } from '@outboxkit/testkit';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';
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

/** An outbox table (default names), schema-qualified and quoted the way the test database's dialect quotes it. */
export function tableName(db: TestDatabase, table: 'outbox_published' | 'outbox_inbox'): string {
  if (db.kind === 'MariaDB') return `\`${db.schema}\`.\`${table}\``;
  if (db.kind === 'PostgreSQL') return `"${db.schema}"."${table}"`;
  return `"${table}"`;
}

/**
 * SQL that moves a time column `days` into the past for the rows `where` selects (test-made
 * text with numbers and test ids only), per database.
 */
export function backdate(db: TestDatabase, table: 'outbox_published' | 'outbox_inbox', column: string, days: number, where: string): string {
  const t = tableName(db, table);
  switch (db.kind) {
    case 'PostgreSQL':
      return `UPDATE ${t} SET ${column} = ${column} - interval '${days} days' WHERE ${where}`;
    case 'MariaDB':
      return `UPDATE ${t} SET ${column} = DATE_SUB(${column}, INTERVAL ${days} DAY) WHERE ${where}`;
    case 'SQLite':
      return `UPDATE ${t} SET ${column} = ${column} - ${days * 86_400_000} WHERE ${where}`;
  }
}

export const UUID_LINE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/;

/** What every operations test file sets up: an isolated database with the outbox migrated, a broker exchange, a collector. */
export interface OperationsFixture {
  db: TestDatabase;
  dbFlags: string[];
  brokerFlags: string[];
  target: DatabaseTarget;
  collector: QueueCollector;
  dispose(): Promise<void>;
}

export async function operationsFixture(kind: DatabaseKind, prefix: string, log: DeliveryLog): Promise<OperationsFixture> {
  const db = await createTestDatabase(kind);
  const dbFlags = databaseFlags(db);
  const brokerUrl = await serviceUrl('rabbitmq');
  const exchange = uniqueName(`${prefix}_x`);
  await cli(['migrate', ...dbFlags]);
  const target = await openTarget(db);
  const collector = await collectQueue({
    url: brokerUrl,
    queue: uniqueName(`${prefix}_q`),
    declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
    log,
  });
  return {
    db,
    dbFlags,
    brokerFlags: ['--broker-url', brokerUrl, '--exchange', exchange],
    target,
    collector,
    async dispose() {
      await collector.close();
      await target.database.close();
      await db.dispose();
    },
  };
}
