/** The project id the tests use on the emulator (any id works there). */
export const PUBSUB_TEST_PROJECT = 'okt-project';

/** Client options for the emulator: no TLS, and no probe of the GCE metadata server (the universe is named). */
export function pubsubEmulatorOptions(apiEndpoint: string, projectId = PUBSUB_TEST_PROJECT) {
  return { projectId, apiEndpoint, emulatorMode: true, universeDomain: 'googleapis.com' };
}

/** The relay's broker URL for an emulator at `host:port`. */
export function pubsubBrokerUrl(apiEndpoint: string): string {
  return `pubsub+http://${apiEndpoint}/${PUBSUB_TEST_PROJECT}`;
}

/**
 * Creates a topic and an ordered subscription on it (optionally with a dead-letter topic the
 * subscription forwards to after `maxDeliveryAttempts`). Returns the subscription's name.
 */
export async function createPubsubTopic(
  apiEndpoint: string,
  topic: string,
  subscription: string,
  deadLetter?: { topic: string; maxDeliveryAttempts: number },
): Promise<string> {
  const { PubSub } = await import('@google-cloud/pubsub');
  const client = new PubSub(pubsubEmulatorOptions(apiEndpoint));
  try {
    const [created] = await client.createTopic(topic);
    const deadLetterPolicy =
      deadLetter === undefined
        ? undefined
        : { deadLetterTopic: (await client.createTopic(deadLetter.topic))[0].name, maxDeliveryAttempts: deadLetter.maxDeliveryAttempts };
    await created.createSubscription(subscription, { enableMessageOrdering: true, ...(deadLetterPolicy === undefined ? {} : { deadLetterPolicy }) });
    return subscription;
  } finally {
    await client.close();
  }
}
