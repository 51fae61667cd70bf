import { OutboxConfigError, OutboxTransactionRequiredError, type EventInput, type EventMap } from '@outboxkit/core';
import type { DataSource, EntitySubscriberInterface, InsertEvent, ObjectLiteral, QueryRunner, RemoveEvent, SoftRemoveEvent, UpdateEvent } from 'typeorm';

/** What a mapper returns: one event, several, or nothing (`null`/`undefined`/`[]`) to emit none. */
export type Emitted<Events extends EventMap = EventMap> = EventInput<Events> | readonly EventInput<Events>[] | null | undefined;

type Mapped<Events extends EventMap> = Emitted<Events> | Promise<Emitted<Events>>;

/**
 * Which events an entity's writes emit. Each mapper gets TypeORM's own subscriber event and runs
 * inside the write's transaction, after the row was written; its events are written in that same
 * transaction. A write kind without a mapper emits nothing and is not checked.
 */
export interface EntityOutboxMappers<Entity extends ObjectLiteral, Events extends EventMap = EventMap> {
  /** After each inserted row: `save()` of a new entity (`event.entity`, with generated keys), `insert()` and query-builder inserts (`event.entity` is the values inserted). */
  afterInsert?: (event: InsertEvent<Entity>) => Mapped<Events>;
  /**
   * After each update: `save()` of a loaded entity (`event.entity`, `event.databaseEntity`,
   * `event.updatedColumns`), and once per `update()` / query-builder update (`event.entity` is
   * the values set; which rows were changed is not known to TypeORM).
   */
  afterUpdate?: (event: UpdateEvent<Entity>) => Mapped<Events>;
  /** After each `remove()` of an entity (`event.entity`, `event.entityId`), and once per `delete()` / query-builder delete (no entity). */
  afterRemove?: (event: RemoveEvent<Entity>) => Mapped<Events>;
  /** After each `softRemove()` of an entity. */
  afterSoftRemove?: (event: SoftRemoveEvent<Entity>) => Mapped<Events>;
}

/** Writes events in the QueryRunner's transaction. */
export type EmitFn<Events extends EventMap> = (queryRunner: QueryRunner, events: readonly EventInput<Events>[]) => Promise<unknown>;

/** Each mapper, and the subscriber hook that runs before that kind of write. */
const GUARD_OF_MAPPER = Object.freeze({
  afterInsert: 'beforeInsert',
  afterUpdate: 'beforeUpdate',
  afterRemove: 'beforeRemove',
  afterSoftRemove: 'beforeSoftRemove',
} as const);

type MapperName = keyof typeof GUARD_OF_MAPPER;

/**
 * Adds one subscriber for `target` (and its subclasses) to the DataSource: for each kind of write
 * with a mapper, a check before the write that it runs in a transaction, and the mapper after it.
 * Returns a function that removes the subscriber.
 */
export function registerEntitySubscriber<Entity extends ObjectLiteral, Events extends EventMap>(
  dataSource: DataSource,
  target: EntitySubscriberTarget,
  mappers: EntityOutboxMappers<Entity, Events>,
  emit: EmitFn<Events>,
): () => void {
  validateMappers(mappers);
  const subscriber: Record<string, unknown> & EntitySubscriberInterface = { listenTo: () => target };
  for (const name of Object.keys(GUARD_OF_MAPPER) as MapperName[]) {
    const mapper = mappers[name] as ((event: { queryRunner: QueryRunner }) => Mapped<Events>) | undefined;
    if (mapper === undefined) continue;
    // A write TypeORM runs without a transaction (insert()/update()/delete() and query builders
    // outside dataSource.transaction) would commit before its event could be written: stop it first.
    subscriber[GUARD_OF_MAPPER[name]] = ({ queryRunner }: { queryRunner: QueryRunner }) => {
      if (!queryRunner.isTransactionActive) {
        throw new OutboxTransactionRequiredError(
          `${describe(target)} has outbox mappers, but this write runs without a transaction, so its event could not commit with it. ` +
            'Run it inside dataSource.transaction(async (manager) => ...), or use save()/remove(), which open one.',
        );
      }
    };
    subscriber[name] = async (event: { queryRunner: QueryRunner }) => {
      const events = toList(await mapper(event));
      if (events.length > 0) await emit(event.queryRunner, events);
    };
  }
  dataSource.subscribers.push(subscriber);
  return () => {
    const at = dataSource.subscribers.indexOf(subscriber);
    if (at >= 0) dataSource.subscribers.splice(at, 1);
  };
}

/** What TypeORM compares `listenTo()` with: an entity's `metadata.target` (a class, or an EntitySchema's name). */
export type EntitySubscriberTarget = Function | string;

function describe(target: EntitySubscriberTarget): string {
  return typeof target === 'function' ? target.name : target;
}

function toList<Events extends EventMap>(emitted: Emitted<Events>): EventInput<Events>[] {
  if (emitted === null || emitted === undefined) return [];
  return Array.isArray(emitted) ? [...(emitted as readonly EventInput<Events>[])] : [emitted as EventInput<Events>];
}

/** A misspelt mapper would silently emit nothing: refuse unknown keys and non-functions at registration. */
function validateMappers(mappers: unknown): void {
  if (mappers === null || typeof mappers !== 'object') {
    throw new OutboxConfigError('mappers', 'expected an object such as { afterInsert: (event) => ({ aggregateType, aggregateId, type, payload }) }');
  }
  for (const [key, value] of Object.entries(mappers)) {
    if (!Object.hasOwn(GUARD_OF_MAPPER, key)) {
      throw new OutboxConfigError(`mappers.${key}`, `unknown mapper; use ${Object.keys(GUARD_OF_MAPPER).join(', ')}`);
    }
    if (value !== undefined && typeof value !== 'function') throw new OutboxConfigError(`mappers.${key}`, 'must be a function');
  }
}
