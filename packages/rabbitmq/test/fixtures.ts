import { createEnvelope, type EventInput, type StoredEvent } from '@outboxkit/core';
import { Connection, type SyncMessage } from 'rabbitmq-client';
import { serviceUrl, uniqueName } from '../../testkit/dist/services.js';

/** A StoredEvent as the relay reads it back: core's envelope plus sequence, position, attempts. */
export function storedEvent(input: Partial<EventInput> = {}, stored: Partial<Pick<StoredEvent, 'sequence' | 'position' | 'attempts'>> = {}): StoredEvent {
  const envelope = createEnvelope({
    aggregateType: 'order',
    aggregateId: 'o-1',
    type: 'OrderPlaced',
    payload: { orderId: 'o-1', total: 5 },
    ...input,
  } as EventInput);
  return { ...envelope, sequence: 1, position: 1, attempts: 0, ...stored };
}

/** A connection to the shared test broker, with the error listener rabbitmq-client requires. */
export async function openTestConnection(): Promise<Connection> {
  const connection = new Connection(await serviceUrl('rabbitmq'));
  connection.on('error', () => undefined);
  await connection.onConnect(10_000);
  return connection;
}

/** Declares a queue of this test run bound to `exchange` with `routingKey`; returns its name. */
export async function boundQueue(connection: Connection, exchange: string, routingKey: string): Promise<string> {
  const queue = uniqueName('okt_rmq_q');
  await connection.queueDeclare({ queue, durable: false, autoDelete: false });
  await connection.queueBind({ queue, exchange, routingKey });
  return queue;
}

/** Takes every message currently in `queue`. */
export async function drain(connection: Connection, queue: string): Promise<SyncMessage[]> {
  const messages: SyncMessage[] = [];
  for (;;) {
    const message = await connection.basicGet({ queue, noAck: true });
    if (!message) return messages;
    messages.push(message);
  }
}
