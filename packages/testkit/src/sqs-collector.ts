import type { DeliveryLog } from './delivery-log.js';
import { RecordingCollector, type ReceivedMessage } from './message-collector.js';

/** A received SQS message as the SDK returns it (the fields the collector reads). */
export interface SqsReceived {
  readonly Body?: string | undefined;
  readonly ReceiptHandle?: string | undefined;
  readonly MessageAttributes?: Readonly<Record<string, { readonly StringValue?: string | undefined }>> | undefined;
}

export interface CollectSqsOptions {
  /** The endpoint, e.g. a private fauxqs's `http://127.0.0.1:<port>`. */
  endpoint: string;
  region?: string;
  /** The queues to read, by URL. */
  queueUrls: readonly string[];
  /** Headers and body of a message, as the package under test decodes them (`fromSqsMessage` of `@outboxkit/sqs`). */
  decode: (message: SqsReceived) => { headers: Record<string, string>; body: string };
  log?: DeliveryLog;
}

/**
 * Long-polls SQS queues, records each message and deletes it. Errors (the endpoint down,
 * the queue gone while an emulator restarts) are kept and the polling goes on.
 *
 * @example
 * const collector = await collectSqs({ endpoint: fauxqs.url, queueUrls: [url], decode: fromSqsMessage });
 */
export async function collectSqs(options: CollectSqsOptions): Promise<RecordingCollector> {
  const sqs = await import('@aws-sdk/client-sqs');
  const client = new sqs.SQSClient({
    endpoint: options.endpoint,
    region: options.region ?? 'us-east-1',
    credentials: { accessKeyId: 'collector', secretAccessKey: 'collector' },
    maxAttempts: 1,
  });
  const collector = new SqsCollector(`collectSqs(${options.queueUrls.join(', ')})`, options, client, sqs, options.log);
  collector.begin();
  return collector;
}

type Sqs = typeof import('@aws-sdk/client-sqs');

const WAIT_SECONDS = 1;

class SqsCollector extends RecordingCollector {
  readonly #stopping = new AbortController();
  #loops: Promise<void>[] = [];

  constructor(
    name: string,
    private readonly options: CollectSqsOptions,
    private readonly client: InstanceType<Sqs['SQSClient']>,
    private readonly sqs: Sqs,
    log?: DeliveryLog,
  ) {
    super(name, log);
  }

  begin(): void {
    this.#loops = this.options.queueUrls.map((url) => this.#poll(url));
  }

  async #poll(QueueUrl: string): Promise<void> {
    const signal = this.#stopping.signal;
    while (!signal.aborted) {
      try {
        const reply = await this.client.send(
          new this.sqs.ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: WAIT_SECONDS, MessageAttributeNames: ['All'] }),
          { abortSignal: signal },
        );
        const messages = reply.Messages ?? [];
        for (const message of messages) {
          const { headers, body } = this.options.decode(message);
          const received: ReceivedMessage = { nativeId: undefined, headers, body };
          this.record(received);
        }
        if (messages.length > 0) {
          const Entries = messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle! }));
          await this.client.send(new this.sqs.DeleteMessageBatchCommand({ QueueUrl, Entries }), { abortSignal: signal });
        }
      } catch (error) {
        if (signal.aborted) return;
        this.errors.push(error);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    }
  }

  protected async stop(): Promise<void> {
    this.#stopping.abort();
    await Promise.all(this.#loops);
    this.client.destroy();
  }
}
