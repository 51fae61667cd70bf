import { localCommits, type Dialect, type SqlDatabase } from '@outboxkit/core';
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest';
import { DeliveryBench } from './orm-adapter-conformance.js';

/** What {@link useDeliveryHooks} keeps current for each test. */
export interface DeliveryHooks {
  /** This test's bench: fresh exchange, queue and log. */
  readonly bench: DeliveryBench;
  /** Local commit signals (`signalLocalCommit`) since this test began. */
  readonly signals: number;
  /** Pending events in the target's outbox. */
  pending(): Promise<number>;
}

/**
 * The hooks of a plugin's own end-to-end tests, registered in the current `describe`: a
 * {@link DeliveryBench} per test on `target()` (read when each test starts, so it may be set in
 * a `beforeAll` registered before this), a count of local wake-ups from zero per test, and the
 * check that every test leaves the outbox empty.
 *
 * @example
 * let db: MyTestDatabase;
 * beforeAll(async () => { db = await setup(); });
 * const delivery = useDeliveryHooks(() => db);
 * it('...', async () => { ...; expect(delivery.signals).toBe(1); await delivery.bench.deliverAndCheck(); });
 */
export function useDeliveryHooks(target: () => { readonly dialect: Dialect; readonly database: SqlDatabase }): DeliveryHooks {
  let bench: DeliveryBench | undefined;
  let signals = 0;
  let unsubscribe: (() => void) | undefined;
  const pending = async () => Number(await target().dialect.countPending(target().database));

  beforeAll(() => {
    unsubscribe = localCommits.subscribe(() => signals++);
  });
  afterAll(() => {
    unsubscribe?.();
  });
  beforeEach(async () => {
    signals = 0;
    bench = await DeliveryBench.open(target());
  });
  afterEach(async () => {
    await bench?.close();
    expect(await pending()).toBe(0);
  });

  return {
    get bench() {
      if (bench === undefined) throw new Error('useDeliveryHooks: the bench exists only while a test runs');
      return bench;
    },
    get signals() {
      return signals;
    },
    pending,
  };
}
