import {
  assertDialectFamily,
  connectionWriter,
  OutboxConfigError,
  requireWriterDialect,
  signalLocalCommit,
  type EventMap,
  type EventsInput,
  type WrittenEvent,
  type WriterDialect,
} from '@outboxkit/core';
import type { DataSource, EntitySubscriberInterface, EntityTarget, ObjectLiteral, QueryRunner } from 'typeorm';
import { databaseOf } from './data-source-family.js';
import { registerEntitySubscriber, type EntityOutboxMappers } from './entity-subscriber.js';
import { requireOpenTransaction, type TransactionHandle } from './transaction-guard.js';

export interface TypeormOutboxOptions {
  /**
   * The outbox dialect of the database the DataSource is connected to, with the same table
   * options the relay uses. It must match the DataSource's `type`.
   * @example createPostgresDialect({ tables: { schema: 'app' } })
   */
  dialect: WriterDialect;
}

export interface TypeormOutbox<Events extends EventMap = EventMap> {
  readonly dialect: WriterDialect;
  /**
   * Writes events in the transaction of `manager` (the EntityManager `dataSource.transaction`
   * hands its callback, or a QueryRunner after `startTransaction()`), on its connection, so
   * they commit or roll back with the business change. Throws `OutboxTransactionRequiredError`
   * for a manager without an open transaction (`dataSource.manager`, a finished transaction) or
   * of another DataSource; nothing is written then.
   *
   * @example
   * await dataSource.transaction(async (manager) => {
   *   const order = await manager.save(Order, { number: 'A-1', total: 5 });
   *   await outbox.add(manager, { aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload: { total: 5 } });
   * });
   */
  add(manager: TransactionHandle, events: EventsInput<Events>): Promise<WrittenEvent[]>;
  /**
   * Emits events from an entity's inserts, updates and removals, in the transaction that makes
   * the change (TypeORM's own for a bare `save()`), and refuses a write of that kind without a
   * transaction before the row is written. Call it after `dataSource.initialize()`. Returns a
   * function that removes the subscriber.
   *
   * @example
   * outbox.subscribe(Order, {
   *   afterInsert: ({ entity }) => ({ aggregateType: 'order', aggregateId: entity.id, type: 'OrderPlaced', payload: { total: entity.total } }),
   * });
   */
  subscribe<Entity extends ObjectLiteral>(entity: EntityTarget<Entity>, mappers: EntityOutboxMappers<Entity, Events>): () => void;
}

/**
 * Binds outboxkit to a TypeORM DataSource (before or after `initialize()`). The dialect is
 * checked against the DataSource's `type` (an `OutboxConfigError` naming `dialect` otherwise),
 * so events always land in the database the business rows go to.
 *
 * @example
 * type Events = { OrderPlaced: { total: number } };
 * const outbox = createTypeormOutbox<Events>(dataSource, { dialect: createPostgresDialect() });
 */
export function createTypeormOutbox<Events extends EventMap = EventMap>(dataSource: DataSource, options: TypeormOutboxOptions): TypeormOutbox<Events> {
  const database = databaseOf(dataSource);
  const dialect = requireWriterDialect(options?.dialect);
  assertDialectFamily(dialect, database.family, `the DataSource is of type ${database.type}`);
  const write = connectionWriter<QueryRunner>(dialect, database.family, '@outboxkit/typeorm', (specifier) => import(specifier));
  /** QueryRunners whose open transaction wrote events that no commit has announced yet. */
  const unannounced = new WeakSet<QueryRunner>();

  // TypeORM broadcasts every transaction end to the DataSource's subscribers, with the QueryRunner.
  // Savepoints end too, with the transaction still active: only the outermost end counts.
  const commitListener: EntitySubscriberInterface = {
    afterTransactionCommit({ queryRunner }) {
      if (!queryRunner.isTransactionActive && unannounced.delete(queryRunner)) signalLocalCommit();
    },
    afterTransactionRollback({ queryRunner }) {
      if (!queryRunner.isTransactionActive) unannounced.delete(queryRunner);
    },
  };

  async function add(handle: TransactionHandle, events: EventsInput<Events>): Promise<WrittenEvent[]> {
    const queryRunner = requireOpenTransaction(dataSource, handle, 'outbox.add()');
    // Checked at every write, not once: dataSource.initialize() replaces the subscriber list.
    if (!dataSource.subscribers.includes(commitListener)) dataSource.subscribers.push(commitListener);
    // TypeORM runs the subscribers of one save() concurrently: connectionWriter writes them one after another.
    const written = await write(
      { key: queryRunner, connection: () => queryRunner.connect(), assertOpen: () => requireOpenTransaction(dataSource, queryRunner, 'outbox.add()') },
      events,
    );
    if (written.length > 0) unannounced.add(queryRunner);
    return written;
  }

  const subscribed = new Set<unknown>();
  return Object.freeze({
    dialect,
    add,
    subscribe<Entity extends ObjectLiteral>(entity: EntityTarget<Entity>, mappers: EntityOutboxMappers<Entity, Events>): () => void {
      if (!dataSource.isInitialized) {
        throw new OutboxConfigError(
          'dataSource',
          'call outbox.subscribe() after dataSource.initialize(): TypeORM replaces its subscriber list when it initializes',
        );
      }
      const target = dataSource.getMetadata(entity).target;
      if (subscribed.has(target)) {
        throw new OutboxConfigError(
          'entity',
          `outbox mappers are already registered for ${String(dataSource.getMetadata(entity).name)}; register them once (each event would be written twice)`,
        );
      }
      const remove = registerEntitySubscriber(dataSource, target, mappers, (queryRunner, emitted) => add(queryRunner, emitted));
      subscribed.add(target);
      return () => {
        remove();
        subscribed.delete(target);
      };
    },
  });
}
