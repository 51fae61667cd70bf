import { StorageType, type JetStreamManager } from '@nats-io/jetstream';
import { uniqueName } from '@outboxkit/testkit';

/** A file stream of its own capturing `<prefix>.>`; its name and its consumer's dead-letter stream go to `cleanup`. */
export async function addTestStream(jsm: JetStreamManager, cleanup: string[], namePrefix: string): Promise<{ stream: string; prefix: string }> {
  const prefix = uniqueName(namePrefix);
  const stream = prefix.toUpperCase();
  await jsm.streams.add({ name: stream, subjects: [`${prefix}.>`], storage: StorageType.File });
  cleanup.push(stream, `${stream}_C_DEAD`);
  return { stream, prefix };
}
