import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSnsTopicWithQueue, createSqsQueue } from '../aws-testbed.js';
import { startPrivateServer, type PrivateServer } from './child-server.js';
import { tempDirRemovedOnExit } from './exit-guard.js';

/**
 * A private fauxqs (an SQS/SNS emulator speaking the AWS wire protocol) on its own port. Its
 * `url` is the endpoint, `http://127.0.0.1:<port>`; any credentials are accepted, and the account
 * is 000000000000. It keeps everything in memory: a kill() loses every queue, topic and
 * message. What a test creates through it comes back with each later start() before the emulator
 * answers its first request (fauxqs's init file), as infrastructure code would re-create it after
 * an outage — but atomically: a relay retrying against the restarted emulator never meets a topic
 * whose subscription is not back yet (SNS would accept the publish and drop it).
 */
export interface FauxqsServer extends PrivateServer {
  /** Creates a queue (FIFO when its name ends in .fifo), now and at every later start(). */
  createQueue(name: string): Promise<{ url: string; arn: string }>;
  /** Creates a topic and a queue subscribed to it with raw delivery (both FIFO when `.fifo`), now and at every later start(). */
  createTopicWithQueue(topic: string, queue: string): Promise<{ queueUrl: string; topicArn: string }>;
}

/** The fauxqs command line (`fauxqs/dist/cli.js`), or an error saying what to install. */
function fauxqsCli(): string {
  let entry: string;
  try {
    entry = fileURLToPath(import.meta.resolve('fauxqs'));
  } catch {
    throw new Error('startFauxqs: the fauxqs package is not installed; install it (pnpm add -D fauxqs@1.9.2; later versions need Node 22.5)');
  }
  return join(dirname(entry), 'cli.js');
}

/**
 * Starts fauxqs in a child Node process on a free loopback port and resolves once it accepts
 * connections. A child process, not in-process, so a test can SIGKILL and SIGSTOP it.
 *
 * @example
 * const sqs = await startFauxqs();
 * try { new SQSClient({ endpoint: sqs.url, region: 'us-east-1', credentials }); } finally { await sqs.dispose(); }
 */
export async function startFauxqs(options: { startTimeoutMs?: number } = {}): Promise<FauxqsServer> {
  const cli = fauxqsCli();
  const dir = tempDirRemovedOnExit('okt-fauxqs-');
  const init = new InitFile(join(dir, 'init.json'));
  const server = await startPrivateServer(dir, (port) => ({
    spec: {
      name: 'fauxqs',
      command: 'env',
      args: [`FAUXQS_PORT=${port}`, 'FAUXQS_LOGGER=false', `FAUXQS_INIT=${init.path}`, process.execPath, cli],
      port,
      startTimeoutMs: options.startTimeoutMs ?? 30_000,
    },
    url: `http://127.0.0.1:${port}`,
  }));
  const endpoint = server.url;
  return Object.assign(Object.create(server) as PrivateServer, {
    async createQueue(name: string) {
      init.add({ queues: [queueOf(name)] });
      return createSqsQueue(endpoint, name);
    },
    async createTopicWithQueue(topic: string, queue: string) {
      init.add({
        queues: [queueOf(queue)],
        topics: [{ name: topic, ...(isFifo(topic) ? { attributes: { FifoTopic: 'true' } } : {}) }],
        subscriptions: [{ topic, queue, attributes: { RawMessageDelivery: 'true' } }],
      });
      return createSnsTopicWithQueue(endpoint, topic, queue);
    },
  });
}

interface Resource {
  readonly name: string;
  readonly attributes?: Record<string, string>;
}

/** The part of fauxqs's init file used here; it creates these in this order when it starts, before it answers a request. */
interface InitConfig {
  readonly queues: Resource[];
  readonly topics: Resource[];
  readonly subscriptions: { readonly topic: string; readonly queue: string; readonly attributes: Record<string, string> }[];
}

/** The init file a fauxqs reads at every start: what its tests created so far. */
class InitFile {
  readonly #config: InitConfig = { queues: [], topics: [], subscriptions: [] };

  constructor(readonly path: string) {
    this.#write();
  }

  add(more: Partial<InitConfig>): void {
    this.#config.queues.push(...(more.queues ?? []));
    this.#config.topics.push(...(more.topics ?? []));
    this.#config.subscriptions.push(...(more.subscriptions ?? []));
    this.#write();
  }

  #write(): void {
    writeFileSync(this.path, JSON.stringify(this.#config));
  }
}

const isFifo = (name: string): boolean => name.endsWith('.fifo');
const queueOf = (name: string): Resource => ({ name, ...(isFifo(name) ? { attributes: { FifoQueue: 'true' } } : {}) });
