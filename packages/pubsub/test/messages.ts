import type { Message, PubSub } from '@google-cloud/pubsub';

/** The first message on `subscription`, acked. */
export async function firstMessage(client: PubSub, subscription: string): Promise<Message> {
  const sub = client.subscription(subscription);
  try {
    return await new Promise<Message>((resolve) =>
      sub.on('message', (message: Message) => {
        message.ack();
        resolve(message);
      }),
    );
  } finally {
    await sub.close();
  }
}
