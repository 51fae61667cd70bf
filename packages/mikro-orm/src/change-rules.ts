import { ChangeSetType, EntitySchema, type ChangeSet, type EntityName } from '@mikro-orm/core';
import { OutboxConfigError, type EventInput, type EventMap } from '@outboxkit/core';

/** The entity changes a rule can react to. */
export type ChangeKind = 'create' | 'update' | 'delete';

/**
 * Turns one kind of entity change into an event, written in the flush transaction that makes
 * the change. Build rules with {@link outboxRule} to get the entity type inferred.
 */
export interface OutboxRule<Entity extends object = any, Events extends EventMap = EventMap> {
  /**
   * The entity class, its `EntitySchema`, or its name. Matches change sets of exactly that
   * entity (a subclass in single-table inheritance needs its own rule).
   * @example { entity: Order }
   */
  entity: EntityName<Entity>;
  /**
   * Which changes produce an event.
   * @example { on: ['create', 'delete'] }
   */
  on: readonly ChangeKind[];
  /**
   * Called once per matching change, after the flush executed its statements (generated ids are
   * set), inside the transaction. Return `null` to emit nothing for this change. Throwing fails
   * the flush and rolls everything back.
   * @example { event: (order) => ({ aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload: { id: order.id } }) }
   */
  event(entity: Entity, change: ChangeSet<Entity>): EventInput<Events> | null;
}

/**
 * Declares a change-driven rule with the entity type inferred from `entity`.
 *
 * @example
 * const orderCreated = outboxRule({
 *   entity: OrderSchema,
 *   on: ['create'],
 *   event: (order) => ({ aggregateType: 'order', aggregateId: order.id, type: 'OrderCreated', payload: { total: order.total } }),
 * });
 */
export function outboxRule<Entity extends object, Events extends EventMap = EventMap>(rule: OutboxRule<Entity, Events>): OutboxRule<Entity, Events> {
  return rule;
}

/** A validated rule, matched by entity name. */
export interface ResolvedRule {
  readonly entityName: string;
  readonly kinds: ReadonlySet<ChangeKind>;
  readonly event: OutboxRule['event'];
}

const KINDS: ReadonlySet<string> = new Set<ChangeKind>(['create', 'update', 'delete']);

/** MikroORM runs early updates/deletes (re-created entities) as separate change set types; to a rule they are the same change. */
const KIND_OF_CHANGE: Readonly<Record<ChangeSetType, ChangeKind>> = {
  [ChangeSetType.CREATE]: 'create',
  [ChangeSetType.UPDATE]: 'update',
  [ChangeSetType.UPDATE_EARLY]: 'update',
  [ChangeSetType.DELETE]: 'delete',
  [ChangeSetType.DELETE_EARLY]: 'delete',
};

export function resolveRules(rules: unknown): ResolvedRule[] {
  if (rules === undefined) return [];
  if (!Array.isArray(rules)) throw new OutboxConfigError('rules', `expected an array of { entity, on, event }, got ${typeof rules}`);
  return rules.map((rule: Partial<OutboxRule> | null, i): ResolvedRule => {
    const at = `rules[${i}]`;
    if (rule === null || typeof rule !== 'object') throw new OutboxConfigError(at, 'expected an object like { entity, on, event }');
    if (typeof rule.event !== 'function') throw new OutboxConfigError(`${at}.event`, 'must be a function (entity, changeSet) => EventInput | null');
    if (!Array.isArray(rule.on) || rule.on.length === 0 || rule.on.some((kind) => !KINDS.has(kind))) {
      throw new OutboxConfigError(`${at}.on`, `must be a non-empty array of 'create', 'update', 'delete', got ${JSON.stringify(rule.on)}`);
    }
    return Object.freeze({ entityName: entityNameOf(rule.entity, `${at}.entity`), kinds: new Set(rule.on), event: rule.event });
  });
}

function entityNameOf(entity: unknown, option: string): string {
  if (typeof entity === 'string' && entity !== '') return entity;
  if (entity instanceof EntitySchema) return entity.meta.className;
  if (typeof entity === 'function' && entity.name !== '') return entity.name;
  if (entity !== null && typeof entity === 'object' && typeof (entity as { name?: unknown }).name === 'string') {
    return (entity as { name: string }).name;
  }
  throw new OutboxConfigError(option, 'must be an entity class, an EntitySchema or an entity name');
}

/** The events the rules produce for a flush's change sets, in change set order. */
export function eventsForChanges(rules: readonly ResolvedRule[], changeSets: readonly ChangeSet<any>[]): EventInput[] {
  if (rules.length === 0) return [];
  const events: EventInput[] = [];
  for (const change of changeSets) {
    const kind = KIND_OF_CHANGE[change.type];
    for (const rule of rules) {
      if (rule.entityName !== change.name || !rule.kinds.has(kind)) continue;
      const event = rule.event(change.entity, change);
      if (event !== null) events.push(event);
    }
  }
  return events;
}
