import type { InboxObserver } from './inbox-options.js';

/**
 * The part of prom-client these metrics use. Pass the module itself, so this package does not
 * depend on prom-client and your metrics land in the registry your service already exposes.
 */
export interface PromClientLike<Registry = unknown> {
  Counter: new (config: {
    name: string;
    help: string;
    labelNames: string[];
    registers: Registry[];
  }) => {
    inc(labels: Record<string, string>, value?: number): void;
  };
  Histogram: new (config: {
    name: string;
    help: string;
    labelNames: string[];
    buckets: number[];
    registers: Registry[];
  }) => {
    observe(labels: Record<string, string>, value: number): void;
  };
}

export interface InboxMetrics {
  /** The observer to pass as `createInboxConsumer({ observer })` for the consumer named `consumer`. */
  observer(consumer: string): InboxObserver;
}

/**
 * Prometheus metrics for inbox consumers: processed, duplicates, failures, dead letters,
 * held-back events and handler duration, labelled by consumer name only (never by event data).
 * Create it once per registry; one instance serves every consumer of the process.
 *
 * @example
 * import * as promClient from 'prom-client';
 * const metrics = createInboxMetrics(promClient, { registry: promClient.register });
 * createInboxConsumer({ ..., consumer: 'billing', observer: metrics.observer('billing') });
 */
export function createInboxMetrics<Registry>(promClient: PromClientLike<Registry>, options: { registry: Registry }): InboxMetrics {
  const registers = [options.registry];
  const counter = (name: string, help: string, labelNames: string[] = ['consumer']) => new promClient.Counter({ name, help, labelNames, registers });
  const processed = counter('outbox_inbox_processed_total', 'Events whose handler ran and committed.');
  const duplicates = counter('outbox_inbox_duplicates_total', 'Deliveries skipped because the inbox already had the event id.');
  const failed = counter('outbox_inbox_failed_total', 'Handler failures (rolled back); final="true" when no retry is left.', ['consumer', 'final']);
  const deadLettered = counter('outbox_inbox_dead_lettered_total', 'Messages sent to the dead-letter exchange.');
  const heldBack = counter('outbox_inbox_held_back_total', 'Events held back by the ordering guard for an earlier event of their aggregate.');
  const duration = new promClient.Histogram({
    name: 'outbox_inbox_handler_duration_seconds',
    help: 'Handler run time, by outcome.',
    labelNames: ['consumer', 'outcome'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers,
  });
  return {
    observer(consumer) {
      return {
        onProcessed: ({ durationMs }) => {
          processed.inc({ consumer });
          duration.observe({ consumer, outcome: 'processed' }, durationMs / 1000);
        },
        onDuplicate: () => duplicates.inc({ consumer }),
        onFailed: ({ durationMs, willRetry }) => {
          failed.inc({ consumer, final: String(!willRetry) });
          duration.observe({ consumer, outcome: 'failed' }, durationMs / 1000);
        },
        onDeadLettered: () => deadLettered.inc({ consumer }),
        onHeldBack: () => heldBack.inc({ consumer }),
      };
    },
  };
}
