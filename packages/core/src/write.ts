import type { BacklogGuard } from './backlog-guard.js';
import type { WriterDialect } from './dialect.js';
import { createEnvelope, type Envelope, type EventInput, type EventMap, type TypedEvent } from './envelope.js';
import { OutboxTransactionRequiredError } from './errors.js';
import type { SqlExecutor } from './sql.js';
import { traceHeaders, withTraceHeaders } from './tracing.js';

/**
 * An event as a write returns it: the validated envelope with the sequence the database gave it
 * (1, 2, 3... per aggregate). Typed by the writer's event map: `WrittenEvent<Events>` has the
 * map's `type` and `payload` (see {@link TypedEvent}); without a map, `type: string` and a JSON payload.
 */
export type WrittenEvent<Events extends EventMap = EventMap> = TypedEvent<Envelope & { readonly sequence: number }, Events>;

/** Events, one or several, to write in the business transaction: what every writer API takes. */
export type EventsInput<Events extends EventMap = EventMap> = EventInput<Events> | readonly EventInput<Events>[];

export interface WriteOptions {
  /** Set by plugins that already hold the ORM's transaction handle: skips the database-side check. */
  transactionChecked?: boolean;
  /**
   * Refuse the write with `OutboxBacklogFullError` while the outbox backlog is at its limit;
   * see {@link createBacklogGuard}. Off unless given.
   */
  backlogGuard?: BacklogGuard;
}

/**
 * Validates `events` and writes them inside the caller's open transaction `tx`. All events are
 * validated before anything is written, so a bad one writes nothing.
 *
 * `transactionChecked` is for plugins that already hold the ORM's transaction handle; raw
 * callers leave it off and get a database-side check that a transaction is open.
 *
 * The active OpenTelemetry context (when an SDK and propagator are registered) is added to each
 * event's headers as `traceparent`/`tracestate`, unless the event already has a `traceparent`,
 * so the relay's publish span and the consumer join the writer's trace.
 *
 * @example
 * await db.transaction((tx) => writeEvents(dialect, tx, { aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: {} }));
 */
export async function writeEvents<Events extends EventMap = EventMap>(
  dialect: WriterDialect,
  tx: SqlExecutor,
  events: EventsInput<Events>,
  options: WriteOptions = {},
): Promise<WrittenEvent[]> {
  const envelopes = createEnvelopes(events);
  if (envelopes.length === 0) return [];
  if (!options.transactionChecked && !(await dialect.inTransaction(tx))) {
    throw new OutboxTransactionRequiredError(
      'the outbox write must run inside the business transaction: call it with a client on which you ran BEGIN ' +
        "(or your ORM's transaction handle), so the event commits or rolls back with the change",
    );
  }
  await options.backlogGuard?.check(tx);
  const sequences = await dialect.insertEvents(tx, envelopes);
  return envelopes.map((envelope, i) => ({ ...envelope, sequence: sequences[i]! }));
}

/**
 * Validates one event or a list and returns their envelopes, each carrying the writer's active
 * trace context. The one way to turn writer input into envelopes: `writeEvents` uses it, and so
 * do plugins that must validate at call time and write later (MikroORM's flush, SQLite's
 * synchronous enqueue).
 */
export function createEnvelopes<Events extends EventMap = EventMap>(events: EventsInput<Events>): Envelope[] {
  const list = (Array.isArray(events) ? events : [events]) as readonly EventInput[];
  // One injection per call: every event of one write shares the writer's context.
  const trace = traceHeaders();
  return list.map((event) => createEnvelope(withTrace(event, trace)));
}

/** The event with the writer's trace headers added, unless it carries a `traceparent` of its own. */
function withTrace(event: EventInput, trace: Record<string, string>): EventInput {
  if (Object.keys(trace).length === 0 || event === null || typeof event !== 'object') return event;
  const headers: unknown = event.headers;
  // Headers that are not an object are left for createEnvelope to reject with its usual message.
  if (headers !== undefined && headers !== null && (typeof headers !== 'object' || Array.isArray(headers))) return event;
  const merged = withTraceHeaders(event.headers ?? undefined, trace);
  return merged === event.headers ? event : { ...event, headers: merged };
}
