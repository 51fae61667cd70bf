import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PublishError, Relay, writeEvents, type Publisher, type StoredEvent } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import { createRabbitPublisher } from '@outboxkit/rabbitmq';
import { collectQueue, serviceUrl, uniqueName, waitFor } from '@outboxkit/testkit';
import { createTestDatabase, type TestDatabase } from './support/databases.js';

/**
 * A broker that fails every publish transiently while `down` (a fault injector around the real
 * RabbitMQ publisher: a real broker cannot be made to time out on demand without a private node).
 */
class OutagePublisher implements Publisher {
  down = true;
  attemptsWhileDown = 0;
  constructor(private readonly inner: Publisher) {}
  async publish(event: StoredEvent): Promise<void> {
    if (this.down) {
      this.attemptsWhileDown++;
      throw new PublishError('timeout', `event ${event.id}: the broker did not confirm in time (injected outage)`);
    }
    await this.inner.publish(event);
  }
  isConnected(): boolean {
    return this.inner.isConnected();
  }
  close(): Promise<void> {
    return this.inner.close();
  }
}

// A publish that timed out may still be applied by a broker that was only frozen: each one is a
// duplicate later. After a transient failure the relay therefore tries ONE event per back-off
// (half-open), not a batch, and takes full batches again after the first confirm.
describe('the breaker half-open trial (SQLite, RabbitMQ)', () => {
  let db: TestDatabase;
  let target: DatabaseTarget;

  beforeAll(async () => {
    db = await createTestDatabase('SQLite');
    target = await openDatabase(db.url, { tables: {} });
    await target.dialect.migrate(target.database);
  });

  afterAll(async () => {
    await target?.database.close();
    await db?.dispose();
  });

  it('claims one event per trial while the broker fails, a full batch after it is back', async () => {
    for (let n = 0; n < 60; n++) {
      await target.database.transaction((tx) =>
        writeEvents(target.dialect, tx, { aggregateType: 'order', aggregateId: `o-${n}`, type: 'order.placed', payload: { n } }),
      );
    }
    const url = await serviceUrl('rabbitmq');
    const exchange = uniqueName('okt_trial_x');
    const collector = await collectQueue({
      url,
      queue: uniqueName('okt_trial_q'),
      declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
    });
    const publisher = new OutagePublisher(createRabbitPublisher({ connection: url, exchange }));
    const claims: { claimed: number; down: boolean }[] = [];
    const relay = new Relay({
      dialect: target.dialect,
      database: target.database,
      publisher,
      batchSize: 50,
      pollIntervalMs: 50,
      observer: { polled: ({ claimed }) => claims.push({ claimed, down: publisher.down }) },
    });
    await relay.start();
    try {
      await waitFor('three trials during the outage', () => claims.filter((c) => c.down && c.claimed > 0).length >= 4, 30_000);
      const whileDown = claims.filter((c) => c.down && c.claimed > 0);
      expect(whileDown[0]!.claimed).toBe(50); // the batch in flight when the broker failed
      expect(whileDown.slice(1).every((c) => c.claimed === 1)).toBe(true);
      // The first batch stops starting publishes at the first transient failure; each trial is one.
      expect(publisher.attemptsWhileDown).toBeLessThanOrEqual(whileDown.length - 1 + 50);

      publisher.down = false;
      await waitFor('the backlog published', async () => (await target.dialect.countPending(target.database)) === 0, 30_000);
      await collector.waitFor(60, 30_000);
      const afterRecovery = claims.filter((c) => !c.down && c.claimed > 0);
      expect(afterRecovery[0]!.claimed).toBe(1); // the trial that closed the breaker
      expect(Math.max(...afterRecovery.map((c) => c.claimed))).toBeGreaterThan(1); // full batches again
    } finally {
      await relay.stop();
      await publisher.close();
      await collector.close();
    }
  });
});
