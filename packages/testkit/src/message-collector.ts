import { MESSAGE_HEADERS } from '@outboxkit/core';
import { aggregateLabel } from './aggregate-label.js';
import { DeliveryLog, type Delivery } from './delivery-log.js';

/** One message as a consumer received it, in broker-neutral terms. */
export interface ReceivedMessage {
  /** The broker's own message id (AMQP `message-id`, `Nats-Msg-Id`), when it has one. */
  readonly nativeId: string | undefined;
  /** Every string header (or Redis field) the consumer sees, by name, `x-outbox-*` included. */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as UTF-8 text. */
  readonly body: string;
}

/** A running consumer that records every delivery into a {@link DeliveryLog}, for any broker. */
export interface MessageCollector {
  readonly log: DeliveryLog;
  /** The messages, in the same order as `log.deliveries`. */
  readonly messages: readonly ReceivedMessage[];
  /** Resolves once `condition` (a delivery count, or a predicate over the log) holds; rejects after `timeoutMs` saying what is missing. */
  waitFor(condition: number | ((log: DeliveryLog) => boolean), timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

const DEFAULT_WAIT_TIMEOUT_MS = 10_000;
const POLL_MS = 20;
/** How many undelivered events a timeout message lists. */
const SHOWN_PENDING = 10;

/**
 * The checker's view of a message published with core's `messageHeaders`: the id from
 * `x-outbox-event-id` (else the broker's id), aggregate and sequence from the other headers.
 * Never throws: a malformed message is recorded too (and reported as unexpected).
 */
export function deliveryOf(message: ReceivedMessage, placeholder: string): Delivery {
  const { headers } = message;
  const delivery: Delivery = { id: headers[MESSAGE_HEADERS.eventId] || message.nativeId || placeholder };
  const aggregateType = headers[MESSAGE_HEADERS.aggregateType];
  const aggregateId = headers[MESSAGE_HEADERS.aggregateId];
  const sequence = headers[MESSAGE_HEADERS.sequence];
  if (aggregateType !== undefined) delivery.aggregateType = aggregateType;
  if (aggregateId !== undefined) delivery.aggregateId = aggregateId;
  if (sequence !== undefined && /^\d{1,15}$/.test(sequence)) delivery.sequence = Number(sequence);
  return delivery;
}

/** `committed events not delivered yet (n): id order/o-1 #3, …` for timeout messages; empty when none are missing. */
export function describePending(log: DeliveryLog): string {
  const pending = log.pending();
  if (pending.length === 0) return '';
  const shown = pending
    .slice(0, SHOWN_PENDING)
    .map((event) => `${event.id} ${aggregateLabel(event.aggregateType, event.aggregateId)}${event.sequence === undefined ? '' : ` #${event.sequence}`}`);
  const more = pending.length > SHOWN_PENDING ? `, … and ${pending.length - SHOWN_PENDING} more` : '';
  return `committed events not delivered yet (${pending.length}): ${shown.join(', ')}${more}`;
}

/**
 * The broker-independent half of a collector: records messages, answers `waitFor`. A broker's
 * collector feeds `record()` from its consumer and implements `stop()`.
 */
export abstract class RecordingCollector implements MessageCollector {
  readonly log: DeliveryLog;
  readonly messages: ReceivedMessage[] = [];
  /** Consumer errors seen after setup (they never fail a wait by themselves). */
  readonly errors: unknown[] = [];
  #closed = false;

  constructor(
    readonly name: string,
    log?: DeliveryLog,
  ) {
    this.log = log ?? new DeliveryLog();
  }

  protected record(message: ReceivedMessage): void {
    this.messages.push(message);
    this.log.delivered(deliveryOf(message, `(no event id: delivery ${this.messages.length} of ${this.name})`));
  }

  async waitFor(condition: number | ((log: DeliveryLog) => boolean), timeoutMs = DEFAULT_WAIT_TIMEOUT_MS): Promise<void> {
    const satisfied = typeof condition === 'number' ? () => this.messages.length >= condition : () => condition(this.log);
    const wanted = typeof condition === 'number' ? `${condition} deliveries` : condition.name || 'the predicate';
    const deadline = Date.now() + timeoutMs;
    while (!satisfied()) {
      if (this.#closed) throw new Error(`${this.name}: closed while waiting for ${wanted}`);
      if (Date.now() > deadline) {
        const parts = [
          `${this.name}: timed out after ${timeoutMs} ms waiting for ${wanted}; received ${this.messages.length} deliveries (${this.log.distinctDelivered} distinct ids)`,
          describePending(this.log),
          this.errors.length > 0 ? `consumer errors: ${this.errors.map((error) => (error instanceof Error ? error.message : String(error))).join('; ')}` : '',
        ];
        throw new Error(parts.filter(Boolean).join('; '));
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.stop();
  }

  /** Stops consuming and deletes what the collector created. */
  protected abstract stop(): Promise<void>;
}
