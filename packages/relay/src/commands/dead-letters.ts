import { OutboxConfigError, OutboxError, parseDuration, type DeadLetter } from '@outboxkit/core';
import { deadLetterBroker, type BrokerFlags, type DeadLetterStore, type DeadLetterTarget } from '../brokers.js';
import { DEAD_LETTER_OPTION_FLAGS, underFlag } from '../flag-errors.js';
import type { CommandOutput } from './operations-shared.js';

export interface DeadLetterFlags extends BrokerFlags {
  queue?: string;
  deadLetterQueue?: string;
  limit?: number;
  json?: boolean;
  id?: string[];
  inboxRetention?: string;
}

function target(flags: DeadLetterFlags, command: string): { store: DeadLetterStore; url: string; target: DeadLetterTarget } {
  if (flags.queue === undefined) throw new OutboxConfigError('--queue', "is required: the inbox consumer's queue, whose dead letters to read");
  const { store, url } = deadLetterBroker(flags, command);
  return {
    store,
    url,
    target: {
      queue: flags.queue,
      ...(flags.deadLetterQueue === undefined ? {} : { deadLetterQueue: flags.deadLetterQueue }),
      ...(flags.limit === undefined ? {} : { limit: flags.limit }),
    },
  };
}

/**
 * `outbox-relay dead-letters list --queue <q>`: what an inbox consumer gave up on, oldest
 * first, without removing anything.
 */
export async function deadLettersListCommand(flags: DeadLetterFlags, io: CommandOutput): Promise<DeadLetter[]> {
  const { store, url, target: options } = target(flags, 'dead-letters list');
  const letters = await store.list(url, options).catch((error: unknown) => {
    throw underFlag(error, DEAD_LETTER_OPTION_FLAGS);
  });
  if (flags.json) {
    io.out(JSON.stringify(letters, null, 2));
    return letters;
  }
  for (const letter of letters) io.out(describe(letter));
  io.out(`${letters.length} dead letter(s) in ${store.where(options)}${letters.length === (flags.limit ?? 1000) ? ' (raise --limit to see more)' : ''}`);
  return letters;
}

/**
 * `outbox-relay dead-letters replay --queue <q> [--id <id>...]`: sends dead letters back to the
 * consumer's queue with their original ids (and a fresh attempts budget); the consumer's inbox
 * drops any it already applied. Warns about letters older than the inbox retention: their inbox
 * rows may be gone, so a re-delivery of one that was applied would not be deduplicated.
 */
export async function deadLettersReplayCommand(flags: DeadLetterFlags, io: CommandOutput): Promise<{ redelivered: number; kept: number }> {
  const { store, url, target: options } = target(flags, 'dead-letters replay');
  const retentionMs = parseDuration(flags.inboxRetention ?? '14d', '--inbox-retention');
  const result = await store.redeliver(url, { ...options, ...(flags.id === undefined ? {} : { ids: flags.id }) }).catch((error: unknown) => {
    throw underFlag(error, DEAD_LETTER_OPTION_FLAGS);
  });
  const cutoff = Date.now() - retentionMs;
  for (const letter of result.redelivered) {
    io.out(`redelivered ${describe(letter)}`);
    if (letter.occurredAt !== null && letter.occurredAt.getTime() < cutoff) {
      io.err(
        `dead-letters: warning: event ${letter.id} occurred ${letter.occurredAt.toISOString()}, before the inbox retention (${flags.inboxRetention ?? '14d'}): ` +
          'if the consumer applied it once and its inbox row was cleaned up, it is applied again',
      );
    }
  }
  const unselected = result.kept.filter((letter) => letter.id !== null && letter.sourceQueue !== null).length;
  const unusable = result.kept.length - unselected;
  io.out(
    `${result.redelivered.length} dead letter(s) redelivered, ${result.kept.length} kept` +
      `${unusable > 0 ? ` (${unusable} without an event id or source queue: inspect them with dead-letters list)` : ''}`,
  );
  const missing = (flags.id ?? []).filter((id) => !result.redelivered.some((letter) => letter.id?.toLowerCase() === id.trim().toLowerCase()));
  if (missing.length > 0)
    throw new OutboxError('OUTBOX_NOT_DEAD_LETTERED', `not in the dead-letter queue: ${missing.join(', ')} (see \`outbox-relay dead-letters list\`)`);
  return { redelivered: result.redelivered.length, kept: result.kept.length };
}

function describe(letter: DeadLetter): string {
  return [
    letter.id ?? '(no id)',
    `${letter.aggregateType ?? '?'}:${letter.aggregateId ?? '?'}`,
    `#${letter.sequence ?? '?'}`,
    letter.type ?? '?',
    `attempts=${letter.attempts}`,
    letter.deadLetteredAt?.toISOString() ?? '-',
    `error: ${(letter.error ?? '-').replace(/\s+/g, ' ').slice(0, 200)}`,
  ].join('  ');
}
