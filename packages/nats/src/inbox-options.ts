import {
  booleanOption,
  integerOption,
  normalizeRedeliveryInboxOptions,
  OutboxConfigError,
  type NormalizedRedeliveryInboxOptions,
  type EventMap,
  type RedeliveryInboxOptions,
  type SqlExecutor,
} from '@outboxkit/core';
import type { NatsConnection } from '@nats-io/transport-node';
import { normalizeNatsConnection, type NatsConnectionTarget } from './connection.js';
import { isStreamName, isSubjectPrefix } from './routing.js';

export interface NatsInboxConsumerOptions<Tx = SqlExecutor, Events extends EventMap = EventMap> extends RedeliveryInboxOptions<Tx, Events> {
  /** A NatsConnection you own (left open on `close()`), or a nats:// URL the consumer opens and closes. */
  connection: NatsConnection | string;
  /** The stream to consume. @default 'OUTBOX' */
  stream?: string;
  /**
   * The durable JetStream consumer's name: the position (and pending acks) survive restarts, and
   * every process of the service shares it. @default `consumer` with characters JetStream refuses replaced by `_`
   */
  durable?: string;
  /** Only subjects matching this filter (wildcards allowed), e.g. `outbox.order.>`. @default the whole stream */
  filterSubject?: string;
  /**
   * How long the server waits for an ack before delivering the message again (while a handler is
   * slow, the consumer tells it to keep waiting).
   * @default 30000
   */
  ackWaitMs?: number;
  /**
   * Where dead letters go: a copy of the message with `x-outbox-error` and friends, published and
   * acknowledged by JetStream before the original is terminated. The subject must not be captured
   * by the consumed stream.
   */
  deadLetter?: {
    /** @default `outboxkit.dead.<durable>` */
    subject?: string;
    /** Stream capturing `subject`, created when missing unless `declare` is false. @default `<durable>_DEAD` */
    stream?: string;
    /** @default true */
    declare?: boolean;
  };
  /** Create the durable consumer (explicit ack) when missing. @default true */
  declare?: boolean;
}

export interface NormalizedNatsInboxConsumerOptions<Tx> extends NormalizedRedeliveryInboxOptions<Tx> {
  readonly connection: NatsConnectionTarget;
  readonly stream: string;
  readonly durable: string;
  readonly filterSubject: string | null;
  readonly ackWaitMs: number;
  readonly deadLetter: { readonly subject: string; readonly stream: string; readonly declare: boolean };
  readonly declare: boolean;
}

const BROKER_KEYS = ['connection', 'stream', 'durable', 'filterSubject', 'ackWaitMs', 'deadLetter', 'declare'];
// A filter may hold wildcards: tokens of "*" or a final ">".
const FILTER = /^([^\s.*>]+|\*)(\.([^\s.*>]+|\*))*(\.>)?$|^>$/;

/** Validates `createNatsInboxConsumer` options once; throws {@link OutboxConfigError} naming the option. */
export function normalizeNatsInboxConsumerOptions<Tx, Events extends EventMap = EventMap>(
  options: NatsInboxConsumerOptions<Tx, Events>,
): NormalizedNatsInboxConsumerOptions<Tx> {
  const common = normalizeRedeliveryInboxOptions(options, BROKER_KEYS);
  const stream = options.stream ?? 'OUTBOX';
  if (!isStreamName(stream)) throw new OutboxConfigError('stream', `${JSON.stringify(stream)} is not a JetStream stream name`);
  const durable = options.durable ?? common.consumer.replace(/[\s.*>/\\]/g, '_');
  if (!isStreamName(durable))
    throw new OutboxConfigError('durable', `${JSON.stringify(durable)} is not a JetStream consumer name (no spaces, ".", "*", ">", "/", "\\")`);
  const filterSubject = options.filterSubject ?? null;
  if (filterSubject !== null && (typeof filterSubject !== 'string' || !FILTER.test(filterSubject))) {
    throw new OutboxConfigError('filterSubject', `${JSON.stringify(filterSubject)} is not a subject filter, e.g. "outbox.order.>"`);
  }
  const dead = options.deadLetter ?? {};
  if (typeof dead !== 'object' || dead === null) throw new OutboxConfigError('deadLetter', 'expected an object like { subject, stream, declare }');
  const deadSubject = dead.subject ?? `outboxkit.dead.${durable}`;
  if (!isSubjectPrefix(deadSubject)) throw new OutboxConfigError('deadLetter.subject', `${JSON.stringify(deadSubject)} is not a NATS subject`);
  const deadStream = dead.stream ?? `${durable}_DEAD`;
  if (!isStreamName(deadStream)) throw new OutboxConfigError('deadLetter.stream', `${JSON.stringify(deadStream)} is not a JetStream stream name`);
  return Object.freeze({
    ...common,
    connection: normalizeNatsConnection(options.connection),
    stream,
    durable,
    filterSubject,
    ackWaitMs: integerOption(options.ackWaitMs, 'ackWaitMs', 30_000, 1000, 3_600_000),
    deadLetter: Object.freeze({ subject: deadSubject, stream: deadStream, declare: booleanOption(dead.declare, 'deadLetter.declare', true) }),
    declare: booleanOption(options.declare, 'declare', true),
  });
}
