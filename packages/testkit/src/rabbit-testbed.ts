import { createEnvelope, type EventInput, type StoredEvent } from '@outboxkit/core';
import { toAmqpMessage } from '@outboxkit/rabbitmq';
import { Connection, type SyncMessage } from 'rabbitmq-client';

/** A stored event as the relay would read it, ready for `toAmqpMessage`; `id` is the inbox key. */
export function storedEvent(input: Partial<EventInput> = {}, sequence = 1): StoredEvent {
  const envelope = createEnvelope({ aggregateType: 'order', aggregateId: 'o-1', type: 'OrderPlaced', payload: { total: 5 }, ...input } as EventInput);
  return Object.freeze({ ...envelope, sequence, position: sequence, attempts: 0 });
}

/**
 * A test's own broker access for consumer tests: declares queues (and cleans up their
 * dead-letter topology), publishes outbox messages with the relay's wire format, reads queues.
 */
export class RabbitTestBed {
  readonly connection: Connection;
  readonly #publisher;
  readonly #queues: string[] = [];
  readonly #exchanges: string[] = [];

  constructor(url: string) {
    this.connection = new Connection(url);
    this.#publisher = this.connection.createPublisher({ confirm: true });
  }

  /** Declares `queue` (durable) and remembers it and its dead-letter topology for cleanup. */
  async declare(queue: string): Promise<string> {
    await this.connection.queueDeclare({ queue, durable: true });
    this.#queues.push(queue, `${queue}.dead`);
    this.#exchanges.push(`${queue}.dlx`);
    return queue;
  }

  /** Publishes `event` straight to `queue`, with the relay's wire format. */
  async publish(queue: string, event: StoredEvent): Promise<void> {
    const { properties, body } = toAmqpMessage(event);
    await this.#publisher.send({ ...properties, exchange: '', routingKey: queue }, body);
  }

  async get(queue: string): Promise<SyncMessage | undefined> {
    return this.connection.basicGet({ queue, noAck: true });
  }

  async messageCount(queue: string): Promise<number> {
    const { messageCount } = await this.connection.queueDeclare({ queue, passive: true });
    return messageCount;
  }

  async close(): Promise<void> {
    for (const queue of this.#queues) await this.connection.queueDelete({ queue }).catch(() => undefined);
    for (const exchange of this.#exchanges) await this.connection.exchangeDelete({ exchange }).catch(() => undefined);
    await this.#publisher.close();
    await this.connection.close();
  }
}

/** Polls `check` until it returns true; fails with `what` after a generous deadline (a hang guard, not a timing assertion). */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, deadlineMs = 45_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
