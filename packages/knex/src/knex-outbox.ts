import {
  assertDialectFamily,
  connectionWriter,
  requireWriterDialect,
  signalLocalCommit,
  type EventMap,
  type EventsInput,
  type WrittenEvent,
  type WriterDialect,
} from '@outboxkit/core';
import type { Knex } from 'knex';
import { connectionOf, familyOf, requireOpenTransaction, rootOf, type KnexTransaction } from './knex-client.js';

export interface KnexOutboxOptions {
  /**
   * The outbox dialect of the database the knex instance is connected to, with the same table
   * options the relay uses. It must match knex's client.
   * @example createPostgresDialect({ tables: { schema: 'app' } })
   */
  dialect: WriterDialect;
}

export interface KnexOutbox<Events extends EventMap = EventMap> {
  readonly dialect: WriterDialect;
  /**
   * Writes events in the transaction `trx`, on its connection, so they commit or roll back with
   * the business change. Throws `OutboxTransactionRequiredError` for the base knex instance, a
   * transaction provider, a finished transaction or one of another knex instance; nothing is
   * written then.
   *
   * @example
   * await knex.transaction(async (trx) => {
   *   await trx('orders').insert({ id: 'o-1', total: 5 });
   *   await outbox.add(trx, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { total: 5 } });
   * });
   */
  add(trx: KnexTransaction, events: EventsInput<Events>): Promise<WrittenEvent[]>;
}

/**
 * Binds outboxkit to a knex instance. The dialect is checked against knex's client (an
 * `OutboxConfigError` naming `dialect` otherwise), so events always land in the database the
 * business rows go to.
 *
 * @example
 * type Events = { OrderPlaced: { total: number } };
 * const outbox = createKnexOutbox<Events>(knex, { dialect: createPostgresDialect() });
 */
export function createKnexOutbox<Events extends EventMap = EventMap>(knex: Knex, options: KnexOutboxOptions): KnexOutbox<Events> {
  const { family, driver } = familyOf(knex);
  const dialect = requireWriterDialect(options?.dialect);
  assertDialectFamily(dialect, family, `knex runs on the ${driver} client`);
  const write = connectionWriter<KnexTransaction>(dialect, family, '@outboxkit/knex', (specifier) => import(specifier));
  /** Root transactions whose commit already wakes the relays. */
  const announced = new WeakSet<KnexTransaction>();

  async function add(trx: KnexTransaction, events: EventsInput<Events>): Promise<WrittenEvent[]> {
    requireOpenTransaction(knex, trx, 'outbox.add()');
    const root = rootOf(trx);
    const written = await write(
      { key: root, connection: () => connectionOf(trx), assertOpen: () => requireOpenTransaction(knex, trx, 'outbox.add()') },
      events,
    );
    if (written.length > 0 && !announced.has(root)) {
      announced.add(root);
      // knex resolves the root's executionPromise once COMMIT succeeded, and rejects it for a
      // rollback with an error or a failed COMMIT; savepoints settle their own, earlier.
      root.executionPromise.then(
        () => signalLocalCommit(),
        () => undefined,
      );
    }
    return written;
  }

  return Object.freeze({ dialect, add });
}
