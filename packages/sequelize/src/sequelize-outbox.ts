import {
  assertDialectFamily,
  OutboxConfigError,
  requireWriterDialect,
  signalLocalCommit,
  writeEvents,
  type EventInput,
  type EventMap,
  type SqlExecutor,
  type WrittenEvent,
  type WriterDialect,
} from '@outboxkit/core';
import type { Model, ModelStatic, Sequelize, Transaction } from 'sequelize';
import { connectionAdapterFor } from './connection-executors.js';
import { registerModelHooks, type ModelOutboxHooks } from './model-hooks.js';
import { requireOpenTransaction, rootOf, type TransactionInternals } from './transaction-guard.js';

export interface SequelizeOutboxOptions {
  /**
   * The outbox dialect of the database this Sequelize instance is connected to, with the same
   * table options the relay uses. It must match Sequelize's dialect.
   * @example createPostgresDialect({ tables: { schema: 'app' } })
   */
  dialect: WriterDialect;
}

export interface AddOptions {
  /**
   * The transaction of the business change. Leave it out only when `Sequelize.useCLS()` is on
   * and the call runs inside `sequelize.transaction(async () => ...)`. `null` is refused.
   */
  transaction?: Transaction | null;
}

/** Events, one or several, to write in the business transaction. */
export type EventsInput<Events extends EventMap = EventMap> = EventInput<Events> | readonly EventInput<Events>[];

export interface SequelizeOutbox<Events extends EventMap = EventMap> {
  readonly dialect: WriterDialect;
  /**
   * Writes events in the given (or CLS) transaction, so they commit or roll back with the
   * business change, and resolves to the written events (always a list), typed by the event map. Throws `OutboxTransactionRequiredError` when the transaction is missing,
   * `null`, finished, or belongs to another Sequelize instance; nothing is written then.
   *
   * @example
   * await sequelize.transaction(async (transaction) => {
   *   const order = await Order.create({ total: 5 }, { transaction });
   *   await outbox.add({ aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload: { total: 5 } }, { transaction });
   * });
   */
  add(events: EventsInput<Events>, options?: AddOptions): Promise<WrittenEvent<Events>[]>;
  /**
   * Emits events from a model's lifecycle hooks, inside the caller's transaction, and refuses
   * every write to the model that has no transaction before the row is written. Returns a
   * function that removes the hooks.
   *
   * @example
   * outbox.hooks(Order, {
   *   afterCreate: (order) => ({ aggregateType: 'order', aggregateId: order.id, type: 'OrderPlaced', payload: order.toJSON() }),
   * });
   */
  hooks<M extends Model>(model: ModelStatic<M>, mappers: ModelOutboxHooks<M, Events>): () => void;
}

/** Per root transaction: the tail of its chain of outbox writes, and whether a commit signal is registered. */
interface TransactionState {
  tail: Promise<unknown>;
  signalRegistered: boolean;
}

/**
 * Binds outboxkit to a Sequelize 6 instance. The dialect is checked against Sequelize's
 * (an `OutboxConfigError` naming `dialect` otherwise), so events always land in the database
 * the business rows go to.
 *
 * @example
 * type Events = { OrderPlaced: { total: number } };
 * const outbox = createSequelizeOutbox<Events>(sequelize, { dialect: createPostgresDialect() });
 * await sequelize.transaction(async (transaction) => {
 *   await Order.create({ id: 'o-1', total: 5 }, { transaction });
 *   await outbox.add({ aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { total: 5 } }, { transaction });
 * });
 */
export function createSequelizeOutbox<Events extends EventMap = EventMap>(sequelize: Sequelize, options: SequelizeOutboxOptions): SequelizeOutbox<Events> {
  if (sequelize === null || typeof sequelize !== 'object' || typeof (sequelize as Partial<Sequelize>).getDialect !== 'function') {
    throw new OutboxConfigError('sequelize', 'expected a Sequelize 6 instance (new Sequelize(...))');
  }
  const dialect = requireWriterDialect(options?.dialect);
  const adapter = connectionAdapterFor(sequelize.getDialect());
  assertDialectFamily(dialect, adapter.family, `Sequelize is connected to ${sequelize.getDialect()}`);
  let executorFactory: Promise<(connection: unknown) => SqlExecutor> | undefined;
  const states = new WeakMap<TransactionInternals, TransactionState>();

  async function add(events: EventsInput<Events>, addOptions: AddOptions = {}): Promise<WrittenEvent<Events>[]> {
    const transaction = requireOpenTransaction(sequelize, addOptions?.transaction, 'outbox.add()');
    const root = rootOf(transaction);
    let state = states.get(root);
    if (!state) {
      state = { tail: Promise.resolve(), signalRegistered: false };
      states.set(root, state);
    }
    // Sequelize runs individual hooks of bulk operations concurrently (Promise.all). Writes of one
    // transaction go one after another so each event's sequence upsert and its insert stay
    // adjacent: sequence order then equals position order, which the relay publishes in.
    const write = state.tail.then(async () => {
      requireOpenTransaction(sequelize, transaction, 'outbox.add()');
      executorFactory ??= adapter.load();
      const executor = (await executorFactory)(root.connection);
      // Each stored event was validated from its input, so it has that input's type and payload.
      return (await writeEvents<Events>(dialect, executor, events, { transactionChecked: true })) as WrittenEvent<Events>[];
    });
    state.tail = write.catch(() => undefined);
    const written = await write;
    if (written.length > 0 && !state.signalRegistered) {
      state.signalRegistered = true;
      // Registered on the outermost transaction: a savepoint's afterCommit fires when the
      // savepoint is released, before anything is visible to the relay. (Sequelize 6 also runs
      // afterCommit hooks when COMMIT itself failed; the relay then polls once and finds nothing.)
      root.afterCommit(() => signalLocalCommit());
    }
    return written;
  }

  const hooked = new WeakSet<object>();
  return Object.freeze({
    dialect,
    add,
    hooks<M extends Model>(model: ModelStatic<M>, mappers: ModelOutboxHooks<M, Events>): () => void {
      if (typeof model !== 'function' || typeof (model as { addHook?: unknown }).addHook !== 'function') {
        throw new OutboxConfigError('model', 'expected a Sequelize model class (sequelize.define(...) or class X extends Model)');
      }
      if ((model as unknown as { sequelize?: unknown }).sequelize !== sequelize) {
        throw new OutboxConfigError('model', `${model.name} is not initialised on the Sequelize instance given to createSequelizeOutbox`);
      }
      if (hooked.has(model)) {
        throw new OutboxConfigError('model', `outbox hooks are already registered for ${model.name}; register them once (each event would be written twice)`);
      }
      const remove = registerModelHooks(sequelize, model, mappers, (events, transaction) => add(events, { transaction }));
      hooked.add(model);
      return () => {
        remove();
        hooked.delete(model);
      };
    },
  });
}
