import { OutboxConfigError, type EventInput, type EventMap } from '@outboxkit/core';
import type { Model, ModelStatic, Sequelize, Transaction } from 'sequelize';
import { requireOpenTransaction } from './transaction-guard.js';

/** What a mapper returns: one event, several, or nothing (`null`/`undefined`/`[]`) to emit none. */
export type Emitted<Events extends EventMap = EventMap> = EventInput<Events> | readonly EventInput<Events>[] | null | undefined;

/** Sequelize's hook options, as far as mappers need them (`where`, `fields`, `attributes`...). */
export type HookOptions = { transaction?: Transaction | null; individualHooks?: boolean } & Record<string, unknown>;

type Mapped<Events extends EventMap> = Emitted<Events> | Promise<Emitted<Events>>;

/** One mapper per bulk statement; see {@link ModelOutboxHooks.bulk}. */
export interface BulkStatementMappers<M extends Model, Events extends EventMap = EventMap> {
  /** `Model.bulkCreate(rows)`: the created instances (with their generated keys where the database returns them). */
  afterBulkCreate?: (instances: readonly M[], options: HookOptions) => Mapped<Events>;
  /** `Model.update(values, { where })`: `options.where` and `options.attributes` (the values set). */
  afterBulkUpdate?: (options: HookOptions) => Mapped<Events>;
  /** `Model.destroy({ where })`: `options.where`. */
  afterBulkDestroy?: (options: HookOptions) => Mapped<Events>;
}

/**
 * Which events a model's writes emit. Every mapper runs inside the write's transaction, after
 * the row was written, and its events are written in that same transaction.
 */
export interface ModelOutboxHooks<M extends Model, Events extends EventMap = EventMap> {
  /** `Model.create`, `instance.save()` of a new row, and each row of `Model.bulkCreate` (see `bulk`). */
  afterCreate?: (instance: M, options: HookOptions) => Mapped<Events>;
  /** `instance.save()`/`instance.update()` of an existing row, and each row of `Model.update` (see `bulk`). */
  afterUpdate?: (instance: M, options: HookOptions) => Mapped<Events>;
  /** `instance.destroy()`, and each row of `Model.destroy` (see `bulk`). */
  afterDestroy?: (instance: M, options: HookOptions) => Mapped<Events>;
  /** `Model.upsert`: `created` is true for an insert, false for an update, or null where Sequelize cannot tell for that database. */
  afterUpsert?: (instance: M, created: boolean | null, options: HookOptions) => Mapped<Events>;
  /**
   * What bulk statements (`Model.bulkCreate`, `Model.update`, `Model.destroy`) emit.
   *
   * - `'per-row'` (default): one event set per affected row, from `afterCreate`, `afterUpdate`,
   *   `afterDestroy`. For `Model.update`/`Model.destroy` of a model with that mapper, the plugin
   *   turns on `individualHooks`: Sequelize then selects the affected rows inside the
   *   transaction first (one extra query) and runs the per-row hooks.
   * - an object of statement mappers: one event set per statement, from the mapper for that
   *   statement (a statement without a mapper emits nothing); per-row mappers are not called for
   *   rows of bulk statements, even when the caller passes `individualHooks: true`.
   */
  bulk?: 'per-row' | BulkStatementMappers<M, Events>;
}

/** Writes events in the hook's transaction (`undefined` means: the CLS transaction). */
export type EmitFn<Events extends EventMap> = (events: readonly EventInput<Events>[], transaction: Transaction | null | undefined) => Promise<unknown>;

/** Every hook that runs before a write to the model's table; a write without a transaction stops there. */
const GUARDED_HOOKS = {
  instance: ['beforeCreate', 'beforeUpdate', 'beforeSave', 'beforeDestroy', 'beforeRestore', 'beforeBulkCreate', 'beforeUpsert'],
  optionsOnly: ['beforeBulkUpdate', 'beforeBulkDestroy', 'beforeBulkRestore'],
} as const;

const MAPPER_NAMES = new Set(['afterCreate', 'afterUpdate', 'afterDestroy', 'afterUpsert', 'bulk']);
const BULK_MAPPER_NAMES = new Set(['afterBulkCreate', 'afterBulkUpdate', 'afterBulkDestroy']);
let registrations = 0;

/**
 * Adds the guards and the emitting hooks to `model` as named hooks, and returns a function that
 * removes exactly those.
 */
export function registerModelHooks<M extends Model, Events extends EventMap>(
  sequelize: Sequelize,
  model: ModelStatic<M>,
  mappers: ModelOutboxHooks<M, Events>,
  emit: EmitFn<Events>,
): () => void {
  validateMappers(mappers);
  const name = `outboxkit:${++registrations}`;
  const added: string[] = [];
  const hook = (type: string, fn: (...args: any[]) => unknown): void => {
    (model as unknown as AddHook).addHook(type, name, fn);
    added.push(type);
  };
  const guard = (options: HookOptions | undefined): void => {
    requireOpenTransaction(sequelize, options?.transaction, `writing ${model.name} (it emits outbox events)`);
  };
  for (const type of GUARDED_HOOKS.instance) hook(type, (_subject: unknown, options?: HookOptions) => guard(options));
  for (const type of GUARDED_HOOKS.optionsOnly) hook(type, (options?: HookOptions) => guard(options));

  const statements = typeof mappers.bulk === 'object' && mappers.bulk !== null ? mappers.bulk : undefined;
  /** Per-row hooks Sequelize runs for the rows of a bulk statement carry the statement's `individualHooks: true`. */
  const fromBulkStatement = (options: HookOptions): boolean => options.individualHooks === true;
  const run = async (mapped: Mapped<Events>, options: HookOptions): Promise<void> => {
    const events = toList(await mapped);
    if (events.length > 0) await emit(events, options.transaction);
  };

  const { afterCreate, afterUpdate, afterDestroy, afterUpsert } = mappers;
  if (afterCreate) {
    hook('afterCreate', (instance: M, options: HookOptions) =>
      statements && fromBulkStatement(options) ? undefined : run(afterCreate(instance, options), options),
    );
  }
  if (afterUpdate) {
    hook('afterUpdate', (instance: M, options: HookOptions) =>
      statements && fromBulkStatement(options) ? undefined : run(afterUpdate(instance, options), options),
    );
  }
  if (afterDestroy) {
    hook('afterDestroy', (instance: M, options: HookOptions) =>
      statements && fromBulkStatement(options) ? undefined : run(afterDestroy(instance, options), options),
    );
  }
  if (afterUpsert) {
    hook('afterUpsert', ([instance, created]: [M, boolean | null], options: HookOptions) => run(afterUpsert(instance, created, options), options));
  }

  if (statements) {
    const { afterBulkCreate, afterBulkUpdate, afterBulkDestroy } = statements;
    if (afterBulkCreate) hook('afterBulkCreate', (instances: M[], options: HookOptions) => run(afterBulkCreate(instances, options), options));
    if (afterBulkUpdate) hook('afterBulkUpdate', (options: HookOptions) => run(afterBulkUpdate(options), options));
    if (afterBulkDestroy) hook('afterBulkDestroy', (options: HookOptions) => run(afterBulkDestroy(options), options));
  } else {
    if (afterCreate) {
      // bulkCreate runs per-row afterCreate hooks only with individualHooks; otherwise map its instances here, in one write.
      hook('afterBulkCreate', async (instances: M[], options: HookOptions) => {
        if (fromBulkStatement(options)) return;
        const events = (await Promise.all(instances.map((instance) => afterCreate(instance, options)))).flatMap(toList);
        if (events.length > 0) await emit(events, options.transaction);
      });
    }
    // Without individualHooks, Model.update/destroy never load the rows, so there is nothing to map.
    if (afterUpdate)
      hook('beforeBulkUpdate', (options: HookOptions) => {
        options.individualHooks = true;
      });
    if (afterDestroy)
      hook('beforeBulkDestroy', (options: HookOptions) => {
        options.individualHooks = true;
      });
  }

  return () => {
    for (const type of new Set(added)) (model as unknown as AddHook).removeHook(type, name);
  };
}

interface AddHook {
  addHook(type: string, name: string, fn: (...args: any[]) => unknown): unknown;
  removeHook(type: string, name: string): unknown;
}

function toList<Events extends EventMap>(emitted: Emitted<Events>): EventInput<Events>[] {
  if (emitted === null || emitted === undefined) return [];
  return Array.isArray(emitted) ? [...(emitted as readonly EventInput<Events>[])] : [emitted as EventInput<Events>];
}

/** A misspelt mapper would silently emit nothing: refuse unknown keys and non-functions at registration. */
function validateMappers(mappers: unknown): void {
  if (mappers === null || typeof mappers !== 'object') {
    throw new OutboxConfigError('mappers', 'expected an object such as { afterCreate: (instance) => event }');
  }
  for (const [key, value] of Object.entries(mappers)) {
    if (!MAPPER_NAMES.has(key)) {
      throw new OutboxConfigError(`mappers.${key}`, `unknown mapper; use ${[...MAPPER_NAMES].join(', ')}`);
    }
    if (key === 'bulk') {
      if (value === 'per-row' || value === undefined) continue;
      if (value === null || typeof value !== 'object') {
        throw new OutboxConfigError('mappers.bulk', "expected 'per-row' or an object of afterBulkCreate/afterBulkUpdate/afterBulkDestroy mappers");
      }
      for (const [bulkKey, bulkValue] of Object.entries(value)) {
        if (!BULK_MAPPER_NAMES.has(bulkKey)) {
          throw new OutboxConfigError(`mappers.bulk.${bulkKey}`, `unknown bulk mapper; use ${[...BULK_MAPPER_NAMES].join(', ')}`);
        }
        if (bulkValue !== undefined && typeof bulkValue !== 'function') throw new OutboxConfigError(`mappers.bulk.${bulkKey}`, 'must be a function');
      }
    } else if (value !== undefined && typeof value !== 'function') {
      throw new OutboxConfigError(`mappers.${key}`, 'must be a function');
    }
  }
}
