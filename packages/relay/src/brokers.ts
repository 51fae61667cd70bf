import { Option, type Command } from 'commander';
import { OutboxConfigError, redactUrl, type DeadLetter, type MessageFormat, type Publisher, type RedeliverResult, type StoredEvent } from '@outboxkit/core';
import { DEFAULT_BROKER_URL, ENV, intFlag } from './config.js';
import { underFlag, type FlagNames } from './flag-errors.js';
import { importOptional, OPTIONAL_PACKAGES } from './optional-packages.js';

/** The broker flags of `outbox-relay run`; each applies to the brokers named in {@link BROKER_OPTIONS}. */
export interface BrokerFlags {
  brokerUrl?: string;
  /** RabbitMQ */
  exchange?: string;
  /** RabbitMQ: false when --no-declare-exchange was given. */
  declareExchange?: boolean;
  /** NATS */
  subjectPrefix?: string;
  /** NATS */
  natsStream?: string;
  /** NATS: false when --no-declare-stream was given. */
  declareStream?: boolean;
  /** Redis */
  streamPrefix?: string;
  /** Redis */
  maxLen?: number;
  /** Redis: false when --no-create-streams was given. */
  createStreams?: boolean;
  /** SQS */
  queuePrefix?: string;
  /** SNS and Pub/Sub */
  topicPrefix?: string;
  /** SQS and SNS: default destinations are FIFO (`.fifo`). */
  fifo?: boolean;
  maxMessageBytes?: number;
  publishTimeoutMs?: number;
  /** Every broker: `native`, `cloudevents-binary` (not SQS/SNS) or `cloudevents-structured`. */
  messageFormat?: string;
  /** Every broker: the CloudEvents `source`, required with a CloudEvents format. */
  cloudeventsSource?: string;
}

type BrokerKind = 'RabbitMQ' | 'NATS' | 'Redis' | 'SQS' | 'SNS' | 'Pub/Sub';

/** Environment variables of the broker flags (flags win). */
export const BROKER_ENV = {
  subjectPrefix: 'OUTBOX_NATS_SUBJECT_PREFIX',
  natsStream: 'OUTBOX_NATS_STREAM',
  streamPrefix: 'OUTBOX_REDIS_STREAM_PREFIX',
  maxLen: 'OUTBOX_REDIS_MAX_LEN',
  queuePrefix: 'OUTBOX_SQS_QUEUE_PREFIX',
  topicPrefix: 'OUTBOX_TOPIC_PREFIX',
  fifo: 'OUTBOX_AWS_FIFO',
  maxMessageBytes: 'OUTBOX_MAX_MESSAGE_BYTES',
  publishTimeoutMs: 'OUTBOX_PUBLISH_TIMEOUT_MS',
  messageFormat: 'OUTBOX_MESSAGE_FORMAT',
  cloudeventsSource: 'OUTBOX_CLOUDEVENTS_SOURCE',
} as const;

/** Which brokers each broker-specific flag belongs to, by flag name; used for the help and the errors. */
const BROKER_OPTIONS: Record<
  string,
  { readonly flag: string; readonly broker: BrokerKind | readonly BrokerKind[]; readonly unset: (value: unknown) => boolean }
> = {
  exchange: { flag: '--exchange', broker: 'RabbitMQ', unset: (v) => v === undefined },
  declareExchange: { flag: '--no-declare-exchange', broker: 'RabbitMQ', unset: (v) => v !== false },
  subjectPrefix: { flag: '--subject-prefix', broker: 'NATS', unset: (v) => v === undefined },
  natsStream: { flag: '--nats-stream', broker: 'NATS', unset: (v) => v === undefined },
  declareStream: { flag: '--no-declare-stream', broker: 'NATS', unset: (v) => v !== false },
  streamPrefix: { flag: '--stream-prefix', broker: 'Redis', unset: (v) => v === undefined },
  maxLen: { flag: '--max-len', broker: 'Redis', unset: (v) => v === undefined },
  createStreams: { flag: '--no-create-streams', broker: 'Redis', unset: (v) => v !== false },
  queuePrefix: { flag: '--queue-prefix', broker: 'SQS', unset: (v) => v === undefined },
  topicPrefix: { flag: '--topic-prefix', broker: ['SNS', 'Pub/Sub'], unset: (v) => v === undefined },
  fifo: { flag: '--fifo', broker: ['SQS', 'SNS'], unset: (v) => v !== true },
};

interface BrokerModule {
  readonly kind: BrokerKind;
  /**
   * Builds the publisher. Each package is imported only when its scheme is used: the publisher
   * packages and their clients are optional peers, an application installs its own broker's.
   */
  create(url: string, flags: BrokerFlags): Promise<Publisher>;
  /** The flag of each publisher option `create` sets, so an option error names the flag. */
  readonly flags: FlagNames;
  /** Where the publisher's default rule sends `event`, in the broker's terms (for dry runs). */
  destination(flags: BrokerFlags): Promise<(event: StoredEvent) => string>;
  /** What a user must know before re-publishing through this broker, printed by `replay`. */
  readonly replayNote?: string;
  /** The dead letters of this broker's inbox consumers (`dead-letters`), where the package offers them. */
  readonly deadLetters?: DeadLetterStore;
}

/** The inbox consumer whose dead letters `dead-letters` reads. */
export interface DeadLetterTarget {
  /** Its queue (RabbitMQ, SQS), durable name (NATS), stream (Redis) or subscription (Pub/Sub): `--queue`. */
  readonly queue: string;
  readonly deadLetterQueue?: string;
  readonly limit?: number;
}

/** A broker package's dead-letter list and replay, on a broker URL. */
export interface DeadLetterStore {
  list(url: string, target: DeadLetterTarget): Promise<DeadLetter[]>;
  redeliver(url: string, target: DeadLetterTarget & { readonly ids?: readonly string[] }): Promise<RedeliverResult>;
  /** Where the consumer's dead letters are, in the broker's terms. */
  where(target: DeadLetterTarget): string;
}

/** The broker's package, or a configuration error saying what to install. */
function brokerPackage<T>(scheme: string, packages: readonly string[], load: () => Promise<T>): Promise<T> {
  return importOptional({ flag: '--broker-url', what: `a ${scheme}// broker URL`, packages }, load);
}

/**
 * @outboxkit/rabbitmq, or a configuration error saying what to install.
 * @internal Its type names an optional peer: kept out of the published .d.ts (stripInternal).
 */
export const loadRabbitmq = () => brokerPackage('amqp:', OPTIONAL_PACKAGES.rabbitmq, () => import('@outboxkit/rabbitmq'));
const loadNats = () => brokerPackage('nats:', OPTIONAL_PACKAGES.nats, () => import('@outboxkit/nats'));
const loadRedis = () => brokerPackage('redis:', OPTIONAL_PACKAGES.redis, () => import('@outboxkit/redis'));
const loadAws = (scheme: string) => brokerPackage(scheme, OPTIONAL_PACKAGES.aws, () => import('@outboxkit/sqs'));
const loadPubsub = () => brokerPackage('pubsub:', OPTIONAL_PACKAGES.pubsub, () => import('@outboxkit/pubsub'));

const defined = <T extends object>(options: T): Partial<T> =>
  Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined)) as Partial<T>;

/** A broker package's `listDeadLetters` / `redeliverDeadLetters` (loaded on first use). */
interface DeadLetterFunctions<Options> {
  listDeadLetters(options: Options): Promise<DeadLetter[]>;
  redeliverDeadLetters(options: Options & { readonly ids?: readonly string[] }): Promise<RedeliverResult>;
}

/** A package's dead-letter functions as a {@link DeadLetterStore}; `options` puts `--queue` and `--dead-letter-queue` in the package's terms. */
function deadLetterStore<Options>(
  load: () => Promise<DeadLetterFunctions<Options>>,
  options: (url: string, target: DeadLetterTarget) => Options,
  where: (target: DeadLetterTarget) => string,
): DeadLetterStore {
  return {
    list: async (url, target) => (await load()).listDeadLetters(options(url, target)),
    redeliver: async (url, { ids, ...target }) => (await load()).redeliverDeadLetters({ ...options(url, target), ...(ids === undefined ? {} : { ids }) }),
    where,
  };
}

/** The wire-format options every publisher takes; the publisher checks the value (and names the flag through {@link FORMAT_FLAGS}). */
const formatOptions = (flags: BrokerFlags) => defined({ format: flags.messageFormat as MessageFormat | undefined, cloudEventsSource: flags.cloudeventsSource });

/** The flags of the wire-format options, in every broker's flag table. */
const FORMAT_FLAGS: FlagNames = { format: '--message-format', cloudEventsSource: '--cloudevents-source' };

/** The flags of the RabbitMQ publisher's options, for `run` and the operations commands that publish. */
export const RABBITMQ_OPTION_FLAGS: FlagNames = {
  connection: '--broker-url',
  exchange: '--exchange',
  maxMessageBytes: '--max-message-bytes',
  confirmTimeoutMs: '--publish-timeout-ms',
  ...FORMAT_FLAGS,
};

const RABBITMQ: BrokerModule = {
  kind: 'RabbitMQ',
  flags: RABBITMQ_OPTION_FLAGS,
  async create(url, flags) {
    const { createRabbitPublisher } = await loadRabbitmq();
    return createRabbitPublisher({
      connection: url,
      ...defined({ exchange: flags.exchange, maxMessageBytes: flags.maxMessageBytes, confirmTimeoutMs: flags.publishTimeoutMs }),
      ...formatOptions(flags),
      ...(flags.declareExchange === false ? { declareExchange: false } : {}),
    });
  },
  deadLetters: deadLetterStore(
    loadRabbitmq,
    (url, target) => ({ connection: url, ...target }),
    (target) => target.deadLetterQueue ?? `${target.queue}.dead`,
  ),
  async destination(flags) {
    const { resolveRoute, RABBIT_PUBLISHER_DEFAULTS } = await loadRabbitmq();
    const exchange = flags.exchange ?? RABBIT_PUBLISHER_DEFAULTS.exchange;
    return (event) => {
      const route = resolveRoute(event, { exchange, route: null });
      return `${route.exchange === '' ? '(default exchange)' : route.exchange}/${route.routingKey}`;
    };
  },
};

const NATS: BrokerModule = {
  kind: 'NATS',
  flags: {
    connection: '--broker-url',
    subjectPrefix: '--subject-prefix',
    stream: '--nats-stream',
    maxMessageBytes: '--max-message-bytes',
    ackTimeoutMs: '--publish-timeout-ms',
    ...FORMAT_FLAGS,
  },
  async create(url, flags) {
    const { createNatsPublisher } = await loadNats();
    return createNatsPublisher({
      connection: url,
      ...defined({
        subjectPrefix: flags.subjectPrefix,
        stream: flags.natsStream,
        maxMessageBytes: flags.maxMessageBytes,
        ackTimeoutMs: flags.publishTimeoutMs,
      }),
      ...formatOptions(flags),
      ...(flags.declareStream === false ? { declareStream: false } : {}),
    });
  },
  async destination(flags) {
    const { resolveSubject, NATS_PUBLISHER_DEFAULTS } = await loadNats();
    const subjectPrefix = flags.subjectPrefix ?? NATS_PUBLISHER_DEFAULTS.subjectPrefix;
    return (event) => `subject ${resolveSubject(event, { subjectPrefix, route: null })}`;
  },
  deadLetters: deadLetterStore(
    loadNats,
    (url, { queue, deadLetterQueue, limit }) => ({ connection: url, durable: queue, ...defined({ deadLetterStream: deadLetterQueue, limit }) }),
    (target) => `stream ${target.deadLetterQueue ?? `${target.queue}_DEAD`}`,
  ),
  // Replay keeps the event id as Nats-Msg-Id: consumers' inboxes check the two agree.
  replayNote:
    "note: JetStream drops a message whose Nats-Msg-Id (the event id) it stored within the stream's duplicate window " +
    '(2 min unless the stream sets another), so only events published longer ago are delivered again; ' +
    'to re-read recent ones, start a consumer on the stream at a sequence or time instead',
};

const REDIS: BrokerModule = {
  kind: 'Redis',
  flags: {
    connection: '--broker-url',
    streamPrefix: '--stream-prefix',
    maxLength: '--max-len',
    maxMessageBytes: '--max-message-bytes',
    replyTimeoutMs: '--publish-timeout-ms',
    ...FORMAT_FLAGS,
  },
  async create(url, flags) {
    const { createRedisPublisher } = await loadRedis();
    return createRedisPublisher({
      connection: url,
      ...defined({ streamPrefix: flags.streamPrefix, maxLength: flags.maxLen, maxMessageBytes: flags.maxMessageBytes, replyTimeoutMs: flags.publishTimeoutMs }),
      ...formatOptions(flags),
      ...(flags.createStreams === false ? { createStreams: false } : {}),
    });
  },
  deadLetters: deadLetterStore(
    loadRedis,
    (url, { queue, deadLetterQueue, limit }) => ({ connection: url, stream: queue, ...defined({ deadLetterStream: deadLetterQueue, limit }) }),
    (target) => `stream ${target.deadLetterQueue ?? `${target.queue}:dead`}`,
  ),
  async destination(flags) {
    const { resolveStream, REDIS_PUBLISHER_DEFAULTS } = await loadRedis();
    const streamPrefix = flags.streamPrefix ?? REDIS_PUBLISHER_DEFAULTS.streamPrefix;
    return (event) => `stream ${resolveStream(event, { streamPrefix, route: null })}`;
  },
};

// Replay keeps the event id as the deduplication id: consumers' inboxes check the two agree.
const AWS_REPLAY_NOTE =
  'note: on FIFO queues and topics, SQS and SNS drop a message whose deduplication id (the event id) was sent in the last 5 minutes, ' +
  'so only events published longer ago are delivered again; standard queues and topics deliver every re-publish';

const SQS_DEAD_LETTERS = deadLetterStore(
  () => loadAws('sqs:'),
  (url, target) => ({ connection: url, ...target }),
  (target) => target.deadLetterQueue ?? `the redrive target of ${target.queue}`,
);

/** SQS and SNS: the same options but the prefix; the URL carries region, endpoint and (SNS) account. */
function awsModule(kind: 'SQS' | 'SNS'): BrokerModule {
  const scheme = kind === 'SQS' ? 'sqs:' : 'sns:';
  const common = (flags: BrokerFlags) => ({
    ...defined({ maxMessageBytes: flags.maxMessageBytes, sendTimeoutMs: flags.publishTimeoutMs }),
    ...(flags.fifo === true ? { fifo: true } : {}),
    ...formatOptions(flags),
  });
  return {
    kind,
    flags: {
      connection: '--broker-url',
      queuePrefix: '--queue-prefix',
      topicPrefix: '--topic-prefix',
      fifo: '--fifo',
      maxMessageBytes: '--max-message-bytes',
      sendTimeoutMs: '--publish-timeout-ms',
      ...FORMAT_FLAGS,
    },
    async create(url, flags) {
      const aws = await loadAws(scheme);
      return kind === 'SQS'
        ? aws.createSqsPublisher({ connection: url, ...common(flags), ...defined({ queuePrefix: flags.queuePrefix }) })
        : aws.createSnsPublisher({ connection: url, ...common(flags), ...defined({ topicPrefix: flags.topicPrefix }) });
    },
    async destination(flags) {
      const { resolveQueue, resolveTopic, SQS_PUBLISHER_DEFAULTS, SNS_PUBLISHER_DEFAULTS } = await loadAws(scheme);
      const fifo = flags.fifo === true;
      if (kind === 'SQS') {
        const routing = { prefix: flags.queuePrefix ?? SQS_PUBLISHER_DEFAULTS.queuePrefix, fifo, route: null };
        return (event) => `queue ${resolveQueue(event, routing)}`;
      }
      const routing = { prefix: flags.topicPrefix ?? SNS_PUBLISHER_DEFAULTS.topicPrefix, fifo, route: null };
      return (event) => `topic ${resolveTopic(event, routing)}`;
    },
    replayNote: AWS_REPLAY_NOTE,
    // SNS delivers into SQS queues: their consumers' dead letters are read with the sqs:// URL.
    ...(kind === 'SQS' ? { deadLetters: SQS_DEAD_LETTERS } : {}),
  };
}
const SQS = awsModule('SQS');
const SNS = awsModule('SNS');

const PUBSUB: BrokerModule = {
  kind: 'Pub/Sub',
  flags: {
    connection: '--broker-url',
    topicPrefix: '--topic-prefix',
    maxMessageBytes: '--max-message-bytes',
    sendTimeoutMs: '--publish-timeout-ms',
    ...FORMAT_FLAGS,
  },
  async create(url, flags) {
    const { createPubsubPublisher } = await loadPubsub();
    return createPubsubPublisher({
      connection: url,
      ...defined({ topicPrefix: flags.topicPrefix, maxMessageBytes: flags.maxMessageBytes, sendTimeoutMs: flags.publishTimeoutMs }),
      ...formatOptions(flags),
    });
  },
  deadLetters: deadLetterStore(
    loadPubsub,
    (url, { queue, deadLetterQueue, limit }) => ({ connection: url, subscription: queue, ...defined({ deadLetterSubscription: deadLetterQueue, limit }) }),
    (target) => `subscription ${target.deadLetterQueue ?? `on the dead-letter topic of ${target.queue}`}`,
  ),
  async destination(flags) {
    const { resolveTopic, PUBSUB_PUBLISHER_DEFAULTS } = await loadPubsub();
    const topicPrefix = flags.topicPrefix ?? PUBSUB_PUBLISHER_DEFAULTS.topicPrefix;
    return (event) => `topic ${resolveTopic(event, { topicPrefix, route: null })}`;
  },
};

const BROKERS: Record<string, BrokerModule> = {
  'amqp:': RABBITMQ,
  'amqps:': RABBITMQ,
  'nats:': NATS,
  'redis:': REDIS,
  'rediss:': REDIS,
  'sqs:': SQS,
  'sqs+http:': SQS,
  'sqs+https:': SQS,
  'sns:': SNS,
  'sns+http:': SNS,
  'sns+https:': SNS,
  'pubsub:': PUBSUB,
  'pubsub+http:': PUBSUB,
};

/**
 * The broker module for `--broker-url`, chosen by its scheme. A broker-specific flag given for
 * another broker is a configuration error naming the flag, not silently ignored.
 */
function brokerFor(flags: BrokerFlags): { broker: BrokerModule; url: string } {
  const url = flags.brokerUrl ?? DEFAULT_BROKER_URL;
  const scheme = /^([a-z][a-z0-9+.-]*:)/i.exec(url)?.[1]?.toLowerCase();
  const broker = scheme === undefined ? undefined : BROKERS[scheme];
  if (broker === undefined) {
    throw new OutboxConfigError(
      '--broker-url',
      `${redactUrl(url)} ${scheme === undefined ? 'is not a URL' : `uses an unknown scheme "${scheme}"`}; supported: ${Object.keys(BROKERS).join(' ')} (or set ${ENV.brokerUrl})`,
    );
  }
  for (const [key, { flag, broker: owner, unset }] of Object.entries(BROKER_OPTIONS)) {
    const owners: readonly BrokerKind[] = typeof owner === 'string' ? [owner] : owner;
    if (!owners.includes(broker.kind) && !unset(flags[key as keyof BrokerFlags])) {
      throw new OutboxConfigError(flag, `applies to ${owners.join(' and ')} only, but --broker-url is a ${broker.kind} URL (${redactUrl(url)}); remove it`);
    }
  }
  return { broker, url };
}

/** The dead-letter store of `--broker-url`'s broker (`dead-letters`); a config error for a broker without one. */
export function deadLetterBroker(flags: BrokerFlags, command: string): { store: DeadLetterStore; url: string } {
  const { broker, url } = brokerFor(flags);
  if (broker.deadLetters === undefined) {
    const supported = [
      ...new Set(
        Object.values(BROKERS)
          .filter((b) => b.deadLetters !== undefined)
          .map((b) => b.kind),
      ),
    ].join(', ');
    throw new OutboxConfigError(
      '--broker-url',
      `${command} reads the dead letters of ${supported} inbox consumers for now, but ${redactUrl(url)} is a ${broker.kind} URL; read its dead letters with the broker's own tools`,
    );
  }
  return { store: broker.deadLetters, url };
}

/**
 * The publisher for `--broker-url` (`run`, `replay`, `reconcile --replay`). Each publisher's
 * own option checks name the option; their messages never show the password.
 */
export async function createBrokerPublisher(flags: BrokerFlags): Promise<Publisher> {
  const { broker, url } = brokerFor(flags);
  try {
    return await broker.create(url, flags);
  } catch (error) {
    // The publisher packages name their own options; say which flag sets it.
    throw underFlag(error, broker.flags);
  }
}

/** The broker's note for `replay`, if it has one (see {@link BrokerModule.replayNote}). */
export function replayNote(flags: BrokerFlags): string | undefined {
  return brokerFor(flags).broker.replayNote;
}

/**
 * One line per event, for `replay --dry-run`: what would be sent and where the publisher's
 * default rule sends it (`exchange/routingKey`, `subject ...`, `stream ...`).
 */
export async function eventDescriber(flags: BrokerFlags): Promise<(event: StoredEvent) => string> {
  const destination = await brokerFor(flags).broker.destination(flags);
  const describeDestination = (event: StoredEvent): string => {
    try {
      return destination(event);
    } catch (error) {
      return `(unroutable: ${(error as Error).message})`;
    }
  };
  return (event) => `${event.id}  ${event.aggregateType}:${event.aggregateId}  #${event.sequence}  ${event.type}  -> ${describeDestination(event)}`;
}

function int(name: string): (value: string) => number {
  const parse = intFlag(name);
  return (value) => parse(value);
}

/** Adds the broker flags of `run`, `replay` and `reconcile` (URL, per-broker options, limits) with their help and environment variables. */
export function brokerOptions(command: Command): Command {
  return command
    .addOption(
      new Option(
        '--broker-url <url>',
        'amqp:// (RabbitMQ), nats:// (NATS JetStream), redis:// (Redis Streams), sqs://<region> (Amazon SQS), sns://<region>/<account> (Amazon SNS) ' +
          'or pubsub://<project> (Google Cloud Pub/Sub); sqs+http://host:port?region=..., sns+http://host:port/<account>?region=... and ' +
          `pubsub+http://host:port/<project> for another endpoint (an emulator); default ${redactUrl(DEFAULT_BROKER_URL)}`,
      ).env(ENV.brokerUrl),
    )
    .addOption(new Option('--exchange <name>', 'RabbitMQ: exchange to publish to (default outbox.events, topic)').env(ENV.exchange))
    .option('--no-declare-exchange', 'RabbitMQ: do not declare the exchange (it must exist; the broker user then needs no configure permission)')
    .addOption(new Option('--subject-prefix <prefix>', 'NATS: subjects are <prefix>.<aggregateType>.<type> (default outbox)').env(BROKER_ENV.subjectPrefix))
    .addOption(new Option('--nats-stream <name>', 'NATS: the JetStream stream capturing <prefix>.> (default OUTBOX)').env(BROKER_ENV.natsStream))
    .option('--no-declare-stream', 'NATS: do not create the stream (a subject no stream captures then fails permanently)')
    .addOption(new Option('--stream-prefix <prefix>', 'Redis: streams are <prefix>:<aggregateType> (default outbox)').env(BROKER_ENV.streamPrefix))
    .addOption(
      new Option('--max-len <n>', 'Redis: trim each stream to about n entries (XADD MAXLEN ~; off by default)')
        .env(BROKER_ENV.maxLen)
        .argParser(int('--max-len')),
    )
    .option('--no-create-streams', 'Redis: XADD NOMKSTREAM, so a missing stream fails permanently')
    .addOption(new Option('--queue-prefix <prefix>', 'SQS: queues are <prefix>-<aggregateType> (default outbox); they must exist').env(BROKER_ENV.queuePrefix))
    .addOption(
      new Option('--topic-prefix <prefix>', 'SNS and Pub/Sub: topics are <prefix>-<aggregateType> (default outbox); they must exist').env(
        BROKER_ENV.topicPrefix,
      ),
    )
    .addOption(new Option('--fifo', 'SQS/SNS: default queue/topic names end in .fifo (group = aggregate, deduplication id = event id)').env(BROKER_ENV.fifo))
    .addOption(
      new Option('--max-message-bytes <n>', 'larger events fail permanently and are quarantined (default 16 MiB; NATS 1 MiB; SQS/SNS 256 KiB; Pub/Sub 10 MB)')
        .env(BROKER_ENV.maxMessageBytes)
        .argParser(int('--max-message-bytes')),
    )
    .addOption(
      new Option('--publish-timeout-ms <ms>', "budget of one publish up to the broker's acknowledgement (default 10000)")
        .env(BROKER_ENV.publishTimeoutMs)
        .argParser(int('--publish-timeout-ms')),
    )
    .addOption(
      new Option(
        '--message-format <format>',
        'native (default: x-outbox-* headers), cloudevents-binary (CloudEvents attributes as headers; not SQS/SNS) or cloudevents-structured ' +
          '(the whole CloudEvent as the JSON body); see docs/cloudevents.md',
      ).env(BROKER_ENV.messageFormat),
    )
    .addOption(
      new Option(
        '--cloudevents-source <uri-reference>',
        'the CloudEvents source attribute, required with a CloudEvents --message-format (e.g. urn:example:shop)',
      ).env(BROKER_ENV.cloudeventsSource),
    );
}
