import type { Dialect } from './dialect.js';
import { createEnvelope, type Envelope, type EventInput, type EventMap } from './envelope.js';
import { OutboxTransactionRequiredError } from './errors.js';
import type { SqlExecutor } from './sql.js';

export interface WrittenEvent extends Envelope {
  readonly sequence: number;
}

/**
 * Validates `events` and writes them inside the caller's open transaction `tx`. All events are
 * validated before anything is written, so a bad one writes nothing.
 *
 * `transactionChecked` is for plugins that already hold the ORM's transaction handle; raw
 * callers leave it off and get a database-side check that a transaction is open.
 */
export async function writeEvents<Events extends EventMap = EventMap>(
  dialect: Dialect,
  tx: SqlExecutor,
  events: EventInput<Events> | readonly EventInput<Events>[],
  options: { transactionChecked?: boolean } = {},
): Promise<WrittenEvent[]> {
  const list = (Array.isArray(events) ? events : [events]) as readonly EventInput[];
  const envelopes = list.map((event) => createEnvelope(event));
  if (envelopes.length === 0) return [];
  if (!options.transactionChecked && !(await dialect.inTransaction(tx))) {
    throw new OutboxTransactionRequiredError(
      'the outbox write must run inside the business transaction: call it with a client on which you ran BEGIN ' +
        '(or your ORM\'s transaction handle), so the event commits or rolls back with the change',
    );
  }
  const sequences = await dialect.insertEvents(tx, envelopes);
  return envelopes.map((envelope, i) => ({ ...envelope, sequence: sequences[i]! }));
}
