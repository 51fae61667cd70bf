import type { ChangeSet, EntityManager, EventSubscriber, FlushEventArgs, TransactionEventArgs } from '@mikro-orm/core';
import { requireWriterDialect, signalLocalCommit, writeEvents, type Envelope, type EventInput, type EventMap, type WriterDialect } from '@outboxkit/core';
import { eventsForChanges, resolveRules, type OutboxRule, type ResolvedRule } from './change-rules.js';
import { dropEvents, startFlush, takeForWrite } from './pending-events.js';
import { connectionOf, transactionExecutor } from './transaction-executor.js';

/** Options of {@link outboxSubscriber} and {@link withOutbox}. */
export interface OutboxOptions<Events extends EventMap = EventMap> {
  /**
   * The dialect of the database MikroORM runs on, with the same table options the relay uses.
   * It must match the ORM's driver (checked at startup).
   * @example { dialect: createPostgresDialect({ tables: { schema: 'app' } }) }
   */
  dialect: WriterDialect;
  /**
   * Change-driven events: each declared entity change produces one event in the same flush transaction.
   * @example { rules: [outboxRule({ entity: Order, on: ['create'], event: (o) => ({ aggregateType: 'order', aggregateId: o.id, type: 'OrderCreated', payload: {} }) })] }
   */
  rules?: readonly OutboxRule<any, Events>[];
}

// A brand instead of instanceof: two copies of this package in one process still recognise each other.
const SUBSCRIBER_BRAND = Symbol.for('outboxkit.mikro-orm.subscriber');

/** Connections whose open transaction wrote outbox rows that no commit has announced yet. */
const unannounced = new WeakSet<object>();

/**
 * The flush subscriber. Where the events of a flush are written, always inside the transaction
 * and after the flush's own statements:
 * - a flush that opens its own (implicit) transaction: `beforeTransactionCommit` of that
 *   transaction, the last moment before COMMIT (`afterFlush` would run after it);
 * - a flush inside `em.transactional()` / `em.begin()`: `afterFlush`, still inside the transaction
 *   (or its savepoint, so a rolled-back nested transaction takes its events along);
 * - a flush with events but no entity changes: MikroORM opens no transaction for it, so the
 *   events are written in one transaction of their own in `afterFlush`.
 * After the outermost commit, relays in this process are woken with `signalLocalCommit()`.
 */
export class OutboxSubscriber implements EventSubscriber {
  readonly [SUBSCRIBER_BRAND] = true;
  readonly dialect: WriterDialect;
  readonly #rules: readonly ResolvedRule[];

  constructor(options: OutboxOptions<any>) {
    if (options === null || typeof options !== 'object') {
      throw new TypeError('outboxSubscriber: expected options like { dialect, rules }');
    }
    this.dialect = requireWriterDialect(options.dialect);
    this.#rules = resolveRules(options.rules);
  }

  beforeFlush({ em }: FlushEventArgs): void {
    startFlush(em);
  }

  async beforeTransactionCommit({ em, uow, transaction }: TransactionEventArgs): Promise<void> {
    // Only the implicit flush transaction carries its UnitOfWork. em.transactional() and
    // em.commit() flush (and so write, in afterFlush) before they commit; nothing is left then.
    const written = await this.#write(em, uow?.getChangeSets() ?? [], transaction);
    if (written) unannounced.add(written);
  }

  async afterFlush({ em, uow }: FlushEventArgs): Promise<void> {
    if (em.isInTransaction()) {
      const written = await this.#write(em, uow.getChangeSets(), em.getTransactionContext());
      if (written) unannounced.add(written);
      return;
    }
    // Not in a transaction after a flush: either its implicit transaction already committed (and
    // wrote everything in beforeTransactionCommit), or it had no entity changes and ran none.
    const events = takeForWrite(em).map(asEventInput);
    if (events.length === 0) return;
    await em.getConnection('write').transactional(async (trx) => {
      await this.#writeEvents(em, events, trx);
    });
    signalLocalCommit();
  }

  async afterTransactionCommit({ transaction }: TransactionEventArgs): Promise<void> {
    const connection = await connectionOf(transaction);
    if (connection && unannounced.delete(connection)) signalLocalCommit();
  }

  async afterTransactionRollback({ em, transaction }: TransactionEventArgs): Promise<void> {
    dropEvents(em);
    const connection = await connectionOf(transaction);
    if (connection) unannounced.delete(connection);
  }

  /** Writes the flush's rule events, then its queued events; returns the connection written on, if any. */
  async #write(em: EntityManager, changeSets: readonly ChangeSet<any>[], transaction: unknown): Promise<object | undefined> {
    const events: EventInput[] = [...eventsForChanges(this.#rules, changeSets), ...takeForWrite(em).map(asEventInput)];
    if (events.length === 0) return undefined;
    return this.#writeEvents(em, events, transaction);
  }

  async #writeEvents(em: EntityManager, events: readonly EventInput[], transaction: unknown): Promise<object> {
    const { executor, connection } = await transactionExecutor(this.dialect, transaction, em.getPlatform().constructor.name);
    await writeEvents(this.dialect, executor, events, { transactionChecked: true });
    return connection;
  }
}

/**
 * A validated envelope goes through writeEvents again as input: validation is deterministic and
 * keeps the id and occurredAt it was given at `outbox.add`, so the stored event is the one returned.
 */
function asEventInput(envelope: Envelope): EventInput {
  return envelope as EventInput;
}

/** True for an OutboxSubscriber, from this copy of the package or another. */
export function isOutboxSubscriber(value: unknown): value is OutboxSubscriber {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[SUBSCRIBER_BRAND] === true;
}

/**
 * The subscriber alone, for configs that list subscribers themselves. Prefer {@link withOutbox},
 * which also checks at startup that transactions are on and the dialect matches the driver.
 *
 * @example
 * const orm = await MikroORM.init({ ...config, subscribers: [outboxSubscriber({ dialect: createPostgresDialect() })] });
 */
export function outboxSubscriber<Events extends EventMap = EventMap>(options: OutboxOptions<Events>): OutboxSubscriber {
  return new OutboxSubscriber(options);
}
