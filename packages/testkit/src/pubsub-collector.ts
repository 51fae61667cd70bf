import type { DeliveryLog } from './delivery-log.js';
import { RecordingCollector } from './message-collector.js';
import { pubsubEmulatorOptions } from './pubsub-testbed.js';

export interface CollectPubsubOptions {
  /** The emulator's `host:port`. */
  apiEndpoint: string;
  projectId: string;
  /** The subscription to read (it must exist). */
  subscription: string;
  log?: DeliveryLog;
}

/**
 * Reads a Pub/Sub subscription (streaming pull), records each message with its attributes as
 * headers, and acks it. A stream that fails (the emulator restarting) is opened again.
 *
 * @example
 * const collector = await collectPubsub({ apiEndpoint: emulator.url, projectId: 'okt-project', subscription: 'sub' });
 */
export async function collectPubsub(options: CollectPubsubOptions): Promise<RecordingCollector> {
  const { PubSub } = await import('@google-cloud/pubsub');
  const client = new PubSub(pubsubEmulatorOptions(options.apiEndpoint, options.projectId));
  const collector = new PubsubCollector(`collectPubsub(${options.subscription})`, client, options.subscription, options.log);
  collector.begin();
  return collector;
}

type Client = InstanceType<typeof import('@google-cloud/pubsub').PubSub>;
type Subscription = ReturnType<Client['subscription']>;

class PubsubCollector extends RecordingCollector {
  #subscription: Subscription | null = null;
  #stopped = false;

  constructor(
    name: string,
    private readonly client: Client,
    private readonly subscriptionName: string,
    log?: DeliveryLog,
  ) {
    super(name, log);
  }

  begin(): void {
    if (this.#stopped) return;
    const subscription = this.client.subscription(this.subscriptionName, { flowControl: { maxMessages: 1000 } });
    this.#subscription = subscription;
    subscription.on('message', (message) => {
      this.record({ nativeId: undefined, headers: { ...message.attributes }, body: message.data.toString('utf8') });
      message.ack();
    });
    subscription.on('error', (error: unknown) => {
      this.errors.push(error);
      void subscription.close().catch(() => undefined);
      setTimeout(() => this.begin(), 200);
    });
  }

  protected async stop(): Promise<void> {
    this.#stopped = true;
    await this.#subscription?.close().catch(() => undefined);
    await this.client.close();
  }
}
