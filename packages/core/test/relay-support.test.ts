import { describe, expect, it } from 'vitest';
import {
  backoffDelay,
  CircuitBreaker,
  normalizeRelayOptions,
  OutboxConfigError,
  PublishError,
  redactUrl,
  resolveTables,
  scrub,
  SHARD_COUNT,
  shardsFor,
  type RelayOptions,
} from '@outboxkit/core';

const required = { dialect: {}, database: {}, publisher: {} } as unknown as RelayOptions;

describe('normalizeRelayOptions', () => {
  it('applies defaults and freezes', () => {
    const options = normalizeRelayOptions(required);
    expect(options.batchSize).toBe(500);
    expect(options.poisonPolicy).toBe('park');
    expect(Object.isFrozen(options)).toBe(true);
  });

  it.each([
    [{ batchSize: 0 }, 'batchSize'],
    [{ maxInFlight: 1.5 }, 'maxInFlight'],
    [{ leaseTtlMs: 10 }, 'leaseTtlMs'],
    [{ poisonPolicy: 'drop' }, 'poisonPolicy'],
    [{ keepHistory: 'yes' }, 'keepHistory'],
    [{ retryBackoff: { initialMs: 1000, maxMs: 10 } }, 'retryBackoff.maxMs'],
    [{ publisher: undefined }, 'publisher'],
  ])('names the bad option %j', (patch, option) => {
    let caught: unknown;
    try {
      normalizeRelayOptions({ ...required, ...patch } as RelayOptions);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(OutboxConfigError);
    expect((caught as OutboxConfigError).option).toBe(option);
    expect((caught as Error).message.startsWith(option)).toBe(true);
  });
});

describe('resolveTables', () => {
  it('derives names from the prefix', () => {
    expect(resolveTables({ prefix: 'ok_' }).names.events).toBe('ok_events');
  });

  it.each(['x"; DROP TABLE t;--', 'a b', '1abc', 'a`b', ''])('rejects the identifier %j', (bad) => {
    expect(() => resolveTables({ schema: bad })).toThrow(OutboxConfigError);
    expect(() => resolveTables({ names: { events: bad } })).toThrow(/tables\.names\.events/);
  });
});

describe('shardsFor', () => {
  it('splits all shards among members without overlap', () => {
    for (const members of [1, 2, 3, 5, 64, 70]) {
      const all = Array.from({ length: members }, (_, i) => shardsFor(i, members)).flat();
      expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: SHARD_COUNT }, (_, i) => i));
    }
  });
});

describe('backoff and breaker', () => {
  it('grows exponentially with full jitter, capped', () => {
    expect(backoffDelay(1, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(4, 1000, 60_000, () => 1)).toBe(8000);
    expect(backoffDelay(30, 1000, 60_000, () => 1)).toBe(60_000);
    expect(backoffDelay(4, 1000, 60_000, () => 0)).toBe(0);
  });

  it('doubles the cool-down on consecutive trips and resets', () => {
    let now = 0;
    const breaker = new CircuitBreaker(100, 1000, () => now);
    breaker.trip();
    expect(breaker.remainingMs()).toBe(100);
    breaker.trip();
    expect(breaker.remainingMs()).toBe(200);
    now = 500;
    expect(breaker.remainingMs()).toBe(0);
    breaker.reset();
    expect(breaker.isTripped).toBe(false);
  });
});

describe('errors and redaction', () => {
  it('classifies publish failures', () => {
    expect(new PublishError('unroutable', 'x').permanent).toBe(true);
    expect(new PublishError('timeout', 'x').permanent).toBe(false);
  });

  it('never shows passwords', () => {
    expect(redactUrl('postgres://app:s3cret@db:5432/x?password=s3cret')).not.toContain('s3cret');
    expect(redactUrl('not a url s3cret')).not.toContain('s3cret');
    expect(redactUrl('app:s3cret')).toBe('app:<redacted>');
    expect(redactUrl('sqlite:./data/app.db')).toBe('sqlite:./data/app.db');
    expect(scrub('login failed for s3cret', ['s3cret'])).toBe('login failed for ***');
  });
});
