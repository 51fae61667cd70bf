import { nanos } from '@nats-io/transport-node';
import { jetstreamManager, StorageType, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';

/**
 * The JetStream side the publisher needs besides publishing: its stream declared once per
 * connection (when asked to), and, after a publish nobody answered, which stream (if any)
 * captures the subject. The manager is cached per connection: creating one costs a round trip.
 */
export class StreamDirectory {
  #manager: { readonly nc: NatsConnection; readonly jsm: Promise<JetStreamManager> } | null = null;
  #declared: { readonly nc: NatsConnection; readonly done: Promise<void> } | null = null;

  constructor(private readonly config: { readonly stream: string; readonly subjectPrefix: string; readonly duplicateWindowMs: number }) {}

  /** Creates the stream when it does not exist; an existing one is left as it is. */
  ensureDeclared(nc: NatsConnection): Promise<void> {
    if (this.#declared?.nc !== nc) {
      const done = this.#declare(nc);
      this.#declared = { nc, done };
      // A failed declaration is retried by the next publish.
      done.catch(() => {
        if (this.#declared?.done === done) this.#declared = null;
      });
    }
    return this.#declared.done;
  }

  /** The stream capturing `subject`, or null when none does. */
  async capturing(nc: NatsConnection, subject: string): Promise<string | null> {
    try {
      return await (await this.#jsm(nc)).streams.find(subject);
    } catch (error) {
      if (error instanceof Error && error.name === 'StreamNotFoundError') return null;
      throw error;
    }
  }

  async #declare(nc: NatsConnection): Promise<void> {
    const jsm = await this.#jsm(nc);
    try {
      await jsm.streams.info(this.config.stream);
      return;
    } catch (error) {
      if (!(error instanceof Error && error.name === 'StreamNotFoundError')) throw error;
    }
    try {
      await jsm.streams.add({
        name: this.config.stream,
        subjects: [`${this.config.subjectPrefix}.>`],
        storage: StorageType.File,
        duplicate_window: nanos(this.config.duplicateWindowMs),
      });
    } catch (error) {
      // Another publisher created it in the meantime: same outcome.
      if (!/already in use/i.test(error instanceof Error ? error.message : '')) throw error;
    }
  }

  #jsm(nc: NatsConnection): Promise<JetStreamManager> {
    if (this.#manager?.nc !== nc) {
      const jsm = jetstreamManager(nc);
      this.#manager = { nc, jsm };
      jsm.catch(() => {
        if (this.#manager?.jsm === jsm) this.#manager = null;
      });
    }
    return this.#manager.jsm;
  }
}
