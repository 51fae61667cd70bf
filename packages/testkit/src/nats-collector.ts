import type { ConsumerMessages, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { randomBytes } from 'node:crypto';
import type { DeliveryLog } from './delivery-log.js';
import { RecordingCollector, type ReceivedMessage } from './message-collector.js';

export interface CollectJetStreamOptions {
  url: string;
  stream: string;
  /** Create the stream (file storage) with these subjects when it does not exist yet. */
  createWithSubjects?: readonly string[];
  /** Only these subjects (wildcards allowed). @default the whole stream */
  filterSubject?: string;
  /** With `createWithSubjects`: the stream's duplicate window. @default the server's (2 min) */
  duplicateWindowMs?: number;
  log?: DeliveryLog;
}

/**
 * Consumes a JetStream stream through a durable consumer of its own (explicit acks, every message
 * from the start) and records each delivery. The consumer lives in the stream, so collecting goes
 * on across a restart of the server; close() deletes it.
 *
 * @example
 * const collector = await collectJetStream({ url: 'nats://127.0.0.1:4222', stream: 'OUTBOX' });
 * await collector.waitFor(allCommittedDelivered, 30_000);
 */
export async function collectJetStream(options: CollectJetStreamOptions): Promise<RecordingCollector> {
  const { connect } = await import('@nats-io/transport-node');
  const { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, StorageType } = await import('@nats-io/jetstream');
  const nc = await connect({ servers: options.url.replace(/^nats:\/\//, ''), maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  try {
    const jsm = await jetstreamManager(nc);
    if (options.createWithSubjects) {
      await jsm.streams.info(options.stream).catch(() =>
        jsm.streams.add({
          name: options.stream,
          subjects: [...options.createWithSubjects!],
          storage: StorageType.File,
          ...(options.duplicateWindowMs === undefined ? {} : { duplicate_window: options.duplicateWindowMs * 1_000_000 }),
        }),
      );
    }
    const durable = `okt_collect_${randomBytes(4).toString('hex')}`;
    await jsm.consumers.add(options.stream, {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ...(options.filterSubject ? { filter_subject: options.filterSubject } : {}),
    });
    const consumer = await jetstream(nc).consumers.get(options.stream, durable);
    const messages = await consumer.consume({ max_messages: 256 });
    return new JetStreamCollector(`collectJetStream(${options.stream})`, nc, jsm, options.stream, durable, messages, options.log);
  } catch (error) {
    await nc.close();
    throw error;
  }
}

class JetStreamCollector extends RecordingCollector {
  readonly #done: Promise<void>;

  constructor(
    name: string,
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
    private readonly stream: string,
    private readonly durable: string,
    private readonly subscription: ConsumerMessages,
    log?: DeliveryLog,
  ) {
    super(name, log);
    this.#done = (async () => {
      for await (const message of subscription) {
        const headers: Record<string, string> = {};
        for (const key of message.headers?.keys() ?? []) headers[key] = message.headers!.get(key);
        const received: ReceivedMessage = { nativeId: headers['Nats-Msg-Id'], headers, body: message.string() };
        this.record(received);
        message.ack();
      }
    })().catch((error: unknown) => void this.errors.push(error));
  }

  protected async stop(): Promise<void> {
    await this.subscription.close();
    await this.#done;
    await this.jsm.consumers.delete(this.stream, this.durable).catch(() => undefined);
    await this.nc.close();
  }
}
