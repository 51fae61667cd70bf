import { describe, expect, it } from 'vitest';
import { countDecisions, decideSettlement, PublishError, type SettleInput, type SettlePolicy, type StoredEvent } from '@outboxkit/core';
import { storedEvent } from '@outboxkit/testkit';

const policy: SettlePolicy = { maxAttempts: 3, poisonPolicy: 'park', retryInitialMs: 1000, retryMaxMs: 60_000 };
const relayId = 'relay-a';

function eventIn(shard: number, id: string, attempts = 0): StoredEvent {
  return { ...storedEvent({ aggregateId: id }), shard, attempts };
}

const unroutable = new PublishError('unroutable', 'no queue bound for order.placed');

/** A settlement input where relay-a holds shards 1 and 2 at epoch 7, and the rows agree. */
function input(patch: Partial<SettleInput>): SettleInput {
  return {
    relayId,
    confirmed: [],
    failures: [],
    expired: [],
    leases: [
      { shard: 1, epoch: 7 },
      { shard: 2, epoch: 7 },
    ],
    rows: [
      { shard: 1, owner: relayId, epoch: 7 },
      { shard: 2, owner: relayId, epoch: 7 },
    ],
    ...patch,
  };
}

describe('decideSettlement', () => {
  it('acks confirmed events of held shards', () => {
    const [a, b] = [eventIn(1, 'a'), eventIn(2, 'b')];
    const settlement = decideSettlement(input({ confirmed: [a, b] }), policy);
    expect(settlement.decisions).toEqual([
      { action: 'ack', event: a },
      { action: 'ack', event: b },
    ]);
    expect(settlement.lostShards).toEqual([]);
  });

  it('gives a permanent failure with attempts left a jittered backoff and the reason', () => {
    const event = eventIn(1, 'a', 1);
    const atCeiling = decideSettlement(input({ failures: [{ event, error: unroutable }] }), policy, () => 1);
    // Second attempt: the ceiling is initialMs * 2.
    expect(atCeiling.decisions).toEqual([{ action: 'fail', event, reason: 'unroutable: no queue bound for order.placed', retryInMs: 2000 }]);
    const atFloor = decideSettlement(input({ failures: [{ event, error: unroutable }] }), policy, () => 0);
    expect(atFloor.decisions).toEqual([{ action: 'fail', event, reason: 'unroutable: no queue bound for order.placed', retryInMs: 0 }]);
  });

  it('quarantines the failure that reaches maxAttempts, as the poison policy says', () => {
    const event = eventIn(1, 'a', 2);
    const failures = [{ event, error: unroutable }];
    expect(decideSettlement(input({ failures }), policy).decisions).toEqual([
      { action: 'quarantine', event, reason: 'unroutable: no queue bound for order.placed', status: 'parked', cause: 'poison' },
    ]);
    expect(decideSettlement(input({ failures }), { ...policy, poisonPolicy: 'dead-letter' }).decisions).toEqual([
      { action: 'quarantine', event, reason: 'unroutable: no queue bound for order.placed', status: 'dead-lettered', cause: 'poison' },
    ]);
  });

  it('quarantines on the first failure when maxAttempts is 1', () => {
    const event = eventIn(2, 'b');
    const settlement = decideSettlement(input({ failures: [{ event, error: unroutable }] }), { ...policy, maxAttempts: 1 });
    expect(settlement.decisions.map((decision) => decision.action)).toEqual(['quarantine']);
  });

  it.each([
    ['another owner', { shard: 2, owner: 'relay-b', epoch: 8 }],
    ['a newer epoch of our own', { shard: 2, owner: relayId, epoch: 8 }],
    ['a released lease', { shard: 2, owner: null, epoch: 7 }],
  ])('fences every event of a shard whose lease row shows %s', (_case, row) => {
    const [held, lostOk, lostFailed] = [eventIn(1, 'a'), eventIn(2, 'b'), eventIn(2, 'c', 2)];
    const settlement = decideSettlement(
      input({ confirmed: [held, lostOk], failures: [{ event: lostFailed, error: unroutable }], rows: [{ shard: 1, owner: relayId, epoch: 7 }, row] }),
      policy,
    );
    expect(settlement.decisions).toEqual([
      { action: 'ack', event: held },
      { action: 'fenced', event: lostOk },
      { action: 'fenced', event: lostFailed },
    ]);
    expect(settlement.lostShards).toEqual([2]);
  });

  it('fences the events of a shard whose lease row is missing, or that the relay holds no lease for', () => {
    const [missingRow, notHeld, held] = [eventIn(2, 'b'), eventIn(5, 'e'), eventIn(1, 'a')];
    const settlement = decideSettlement(input({ confirmed: [notHeld, missingRow, held], rows: [{ shard: 1, owner: relayId, epoch: 7 }] }), policy);
    expect(settlement.decisions).toEqual([
      { action: 'fenced', event: notHeld },
      { action: 'fenced', event: missingRow },
      { action: 'ack', event: held },
    ]);
    expect(settlement.lostShards).toEqual([2, 5]);
  });

  it('lists confirmed events first, then failures, and counts each decision', () => {
    const [failed, acked, poisoned, fenced] = [eventIn(1, 'a'), eventIn(1, 'b'), eventIn(2, 'c', 5), eventIn(9, 'd')];
    const settlement = decideSettlement(
      input({
        confirmed: [acked, fenced],
        failures: [
          { event: failed, error: unroutable },
          { event: poisoned, error: unroutable },
        ],
      }),
      policy,
    );
    expect(settlement.decisions.map((decision) => [decision.action, decision.event.aggregateId])).toEqual([
      ['ack', 'b'],
      ['fenced', 'd'],
      ['fail', 'a'],
      ['quarantine', 'c'],
    ]);
    expect(countDecisions(settlement)).toEqual({ ack: 1, fail: 1, quarantine: 1, expired: 0, fenced: 1 });
  });

  it('quarantines an expired event at once, whatever its attempts, as the poison policy says; fenced when its shard is lost', () => {
    const expiresAt = new Date('2026-12-01T10:00:00.000Z');
    const [expired, lost] = [
      { ...eventIn(1, 'a'), expiresAt },
      { ...eventIn(9, 'z'), expiresAt },
    ];
    const reason = 'expired: the event expired at 2026-12-01T10:00:00.000Z before it was published';
    const parked = decideSettlement(input({ expired: [expired, lost] }), policy);
    expect(parked.decisions).toEqual([
      { action: 'quarantine', event: expired, reason, status: 'parked', cause: 'expired' },
      { action: 'fenced', event: lost },
    ]);
    expect(parked.lostShards).toEqual([9]);
    expect(countDecisions(parked)).toEqual({ ack: 0, fail: 0, quarantine: 1, expired: 1, fenced: 1 });
    expect(decideSettlement(input({ expired: [expired] }), { ...policy, poisonPolicy: 'dead-letter' }).decisions).toEqual([
      { action: 'quarantine', event: expired, reason, status: 'dead-lettered', cause: 'expired' },
    ]);
  });
});
