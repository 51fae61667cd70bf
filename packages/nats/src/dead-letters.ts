import {
  deadLetterLimit,
  deadLetterOf,
  DEAD_LETTER_HEADERS,
  replaySelected,
  OutboxConfigError,
  redactUrl,
  scrub,
  type DeadLetter,
  type RedeliverResult,
} from '@outboxkit/core';
import { jetstream, jetstreamManager, type JetStreamManager, type StoredMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { normalizeNatsConnection } from './connection.js';
import { eventHeaders, toMsgHdrs } from './wire-format.js';

export interface NatsDeadLetterOptions {
  /** A `nats://` URL (opened and closed here) or a connection you own. */
  readonly connection: string | NatsConnection;
  /** The inbox consumer's durable name; its dead letters are in the stream `<durable>_DEAD` unless `deadLetterStream` says otherwise. */
  readonly durable: string;
  readonly deadLetterStream?: string;
  /** Most messages to look at. @default 1000 */
  readonly limit?: number;
}

export interface NatsRedeliverOptions extends NatsDeadLetterOptions {
  /** Only these event ids; the others stay in the dead-letter stream. @default all */
  readonly ids?: readonly string[];
}

/**
 * Lists the dead letters of a JetStream inbox consumer, oldest first, without removing them.
 *
 * @example
 * const letters = await listDeadLetters({ connection: 'nats://127.0.0.1:4222', durable: 'billing' });
 */
export async function listDeadLetters(options: NatsDeadLetterOptions): Promise<DeadLetter[]> {
  return withDeadLetters(options, async (messages) => messages.map(({ letter }) => letter));
}

/**
 * Publishes dead letters again on the subject they were consumed from (`x-outbox-source`,
 * `<stream>/<subject>`) with their original headers, without the dead-letter ones, and without a
 * `Nats-Msg-Id`: the stream's duplicate window would drop a re-publish of the event id. Each is
 * acknowledged by JetStream before it is deleted from the dead-letter stream, so a failure in
 * between duplicates one, never loses it. The consumer's inbox drops any event it already applied.
 *
 * @example
 * await redeliverDeadLetters({ connection: 'nats://127.0.0.1:4222', durable: 'billing', ids: ['0190…'] });
 */
export async function redeliverDeadLetters(options: NatsRedeliverOptions): Promise<RedeliverResult> {
  const deadLetterNames = new Set<string>(Object.values(DEAD_LETTER_HEADERS));
  return withDeadLetters(options, (messages, { nc, jsm, stream }) =>
    replaySelected(messages, options.ids, async ({ message, headers, letter }) => {
      const subject = letter.sourceQueue!.slice(letter.sourceQueue!.indexOf('/') + 1);
      const copy = Object.fromEntries(Object.entries(headers).filter(([name]) => !deadLetterNames.has(name)));
      await jetstream(nc).publish(subject, message.data, { headers: toMsgHdrs(copy) });
      await jsm.streams.deleteMessage(stream, message.seq);
    }),
  );
}

async function withDeadLetters<T>(
  options: NatsDeadLetterOptions,
  work: (
    messages: { message: StoredMsg; headers: Record<string, string>; letter: DeadLetter }[],
    context: { nc: NatsConnection; jsm: JetStreamManager; stream: string },
  ) => Promise<T>,
): Promise<T> {
  if (typeof options?.durable !== 'string' || options.durable.trim() === '') throw new OutboxConfigError('durable', "the inbox consumer's durable name");
  if (options.deadLetterStream !== undefined && (typeof options.deadLetterStream !== 'string' || options.deadLetterStream.trim() === '')) {
    throw new OutboxConfigError('deadLetterStream', 'must be a JetStream stream name');
  }
  const limit = deadLetterLimit(options.limit);
  const stream = options.deadLetterStream ?? `${options.durable}_DEAD`;
  const target = normalizeNatsConnection(options.connection);
  let nc: NatsConnection | null = target.kind === 'shared' ? target.instance : null;
  try {
    nc ??= await connect({ ...(target.kind === 'owned' ? target.options : {}), reconnect: false, timeout: 5000 });
    const jsm = await jetstreamManager(nc);
    const { state } = await jsm.streams.info(stream);
    const messages: { message: StoredMsg; headers: Record<string, string>; letter: DeadLetter }[] = [];
    for (let seq = state.first_seq; seq <= state.last_seq && messages.length < limit; seq++) {
      const message = await jsm.streams.getMessage(stream, { seq });
      if (message === null) continue; // deleted: a gap in the sequence
      const headers = eventHeaders(message.header);
      messages.push({ message, headers, letter: deadLetterOf({ headers, body: message.data, nativeId: undefined }) });
    }
    return await work(messages, { nc, jsm, stream });
  } catch (error) {
    if (error instanceof OutboxConfigError) throw error;
    const where = target.kind === 'owned' ? ` at ${redactUrl(target.url)}` : '';
    const secrets = target.kind === 'owned' ? target.secrets : [];
    throw new Error(`dead letters of durable "${options.durable}" (stream ${stream})${where}: ${scrub((error as Error)?.message ?? String(error), secrets)}`, {
      cause: error,
    });
  } finally {
    if (target.kind === 'owned') await nc?.close();
  }
}
