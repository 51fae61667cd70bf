import type { Publisher } from '@outboxkit/core';
import type { MessageCollector } from '../message-collector.js';
import type { ConformanceDatabase } from './harness.js';

/**
 * What a broker adds beyond the {@link Publisher} contract; the suite checks each declared
 * feature and, where a feature is absent, the weaker guarantee that remains.
 */
export interface PublisherFeatures {
  /**
   * The broker drops a re-publish of an event id it already stored (JetStream's duplicate window
   * on `Nats-Msg-Id`), so a relay's re-publishes after a crash reach no consumer.
   */
  readonly brokerDedupe: boolean;
  /** A message whose route reaches no queue fails as a permanent `unroutable` (RabbitMQ's mandatory flag and returns). */
  readonly unroutable: boolean;
  /**
   * A destination that does not exist (an exchange, a stream) fails as a permanent
   * `invalid-destination`, when the publisher is told not to create destinations itself.
   */
  readonly missingDestination: boolean;
  /**
   * The broker orders by a key of the message (partition or ordering key) rather than by one
   * queue per consumer; none of the brokers here does, so per-aggregate order rests on the relay.
   */
  readonly orderingKey: boolean;
  /**
   * The broker keeps what it acknowledged across a SIGKILL of its process (true when omitted).
   * An emulator that keeps everything in memory (fauxqs for SQS/SNS) does not: the suite then
   * checks that every acknowledged message is delivered, and lets the consumer read what was
   * published before a kill before it kills; the harness's `start()` creates its destinations
   * again. The cloud service's own durability cannot be tested on these machines.
   */
  readonly durableBroker?: boolean;
  /**
   * The broker's URLs can carry a password (true when omitted), which the suite checks never
   * shows. Pub/Sub's cannot: credentials come from Application Default Credentials.
   */
  readonly urlCredentials?: boolean;
  /**
   * The largest message the broker itself accepts, when it is small enough to test (NATS
   * `max_payload`, 1 MiB by default): a larger event must fail as a permanent `too-large` with the
   * publisher's default options, not as a transient broker error. Null when no such limit applies.
   */
  readonly brokerMaxMessageBytes: number | null;
}

/** Options the suite sets on a publisher it creates, whatever each broker calls them. */
export interface TestPublisherOptions {
  /** The publisher's own size limit (`maxMessageBytes`). */
  readonly maxMessageBytes?: number;
  /** Budget of one publish, up to the broker's acknowledgement. */
  readonly timeoutMs?: number;
  /** Do not create destinations (no exchange or stream declaration, Redis `NOMKSTREAM`). */
  readonly strictDestinations?: boolean;
  /** Publish to this broker instead of the bed's (an unreachable one, for the failure checks). */
  readonly url?: string;
}

/** One isolated destination on one broker (an exchange, a stream and its subjects, a key prefix). */
export interface PublisherBed {
  /** A publisher into this bed; the suite closes it. */
  publisher(options?: TestPublisherOptions): Publisher;
  /**
   * A consumer of everything published into the bed, recording into a log. Resolves once it is
   * consuming; it keeps consuming across a restart of the bed's broker.
   */
  collect(): Promise<MessageCollector>;
  /** An event destination the broker routes nowhere (with the `unroutable` feature). */
  readonly unroutableDestination?: string;
  /** An event destination naming something that does not exist (with the `missingDestination` feature). */
  readonly missingDestination?: string;
  /** Deletes what the bed created. */
  dispose(): Promise<void>;
}

/** A private broker the suite may kill, freeze and restart; its data survives a SIGKILL. */
export interface PrivateBroker {
  readonly url: string;
  /** SIGKILL: a crash. */
  kill(): Promise<void>;
  /** Starts it again on the same data and port. */
  start(): Promise<void>;
  /** SIGSTOP: frozen with its sockets open. */
  pause(): void;
  resume(): void;
  dispose(): Promise<void>;
}

/** What a publisher package gives the publisher conformance suite. */
export interface PublisherHarness {
  readonly name: string;
  readonly features: PublisherFeatures;
  /** A bed on the shared broker, or on the broker at `url` (a private one). */
  setup(url?: string): Promise<PublisherBed>;
  /** A private broker on its own port and data directory, keeping data across a SIGKILL. */
  startBroker(): Promise<PrivateBroker>;
  /** An isolated, migrated outbox database for the cases that run the real relay. */
  database(): Promise<ConformanceDatabase>;
  /** A URL of this broker's scheme where nothing listens, with a password that must never be shown (see `features.urlCredentials`). */
  readonly unreachableUrl: string;
}
