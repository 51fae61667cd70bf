import { OutboxTransactionRequiredError } from '@outboxkit/core';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';

/** What `outbox.add` takes: the EntityManager of a transaction, or the QueryRunner that holds it. */
export type TransactionHandle = EntityManager | QueryRunner;

const USAGE =
  'pass the EntityManager the business change runs in, e.g.\n' +
  '  await dataSource.transaction(async (manager) => {\n' +
  '    await manager.save(order);\n' +
  "    await outbox.add(manager, { aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload });\n" +
  '  });\n' +
  '(or a QueryRunner after queryRunner.startTransaction()). ' +
  'Without it the event would be written in auto-commit mode, apart from the change: the dual write the outbox exists to prevent.';

/**
 * The QueryRunner of `handle`, after checking that it holds an open transaction of `dataSource`;
 * throws {@link OutboxTransactionRequiredError} otherwise. `dataSource.manager` has no QueryRunner
 * (each of its calls takes a connection of its own), so it is refused like a finished transaction.
 */
export function requireOpenTransaction(dataSource: DataSource, handle: unknown, what: string): QueryRunner {
  const queryRunner = queryRunnerOf(handle);
  if (queryRunner === undefined) {
    const kind = isEntityManager(handle)
      ? 'an EntityManager that is not bound to a transaction (dataSource.manager?)'
      : 'neither an EntityManager nor a QueryRunner';
    throw new OutboxTransactionRequiredError(`${what} was called with ${kind}: ${USAGE}`);
  }
  if (queryRunner.dataSource !== dataSource) {
    throw new OutboxTransactionRequiredError(
      `${what}: the EntityManager belongs to another DataSource (another database connection), so the event could not ` +
        'commit with it. Pass a manager of the DataSource given to createTypeormOutbox.',
    );
  }
  if (queryRunner.isReleased || !queryRunner.isTransactionActive) {
    throw new OutboxTransactionRequiredError(
      `${what}: the EntityManager's QueryRunner has no open transaction (${queryRunner.isReleased ? 'released' : 'not started, or already committed or rolled back'}); ` +
        `an event written now would not be part of the business change. ${USAGE}`,
    );
  }
  return queryRunner;
}

function queryRunnerOf(handle: unknown): QueryRunner | undefined {
  if (handle === null || typeof handle !== 'object') return undefined;
  if (isQueryRunner(handle)) return handle;
  if (isEntityManager(handle)) return handle.queryRunner ?? undefined;
  return undefined;
}

function isQueryRunner(value: object): value is QueryRunner {
  return typeof (value as Partial<QueryRunner>).startTransaction === 'function' && typeof (value as Partial<QueryRunner>).connect === 'function';
}

function isEntityManager(value: unknown): value is EntityManager {
  return value !== null && typeof value === 'object' && typeof (value as Partial<EntityManager>).transaction === 'function' && 'dataSource' in value;
}
