import { describe, expect, it } from 'vitest';
import { DeliveryCheckError, DeliveryLog, allCommittedDelivered, checkDeliveries, describeFailure, expectDeliveryOk, formatReport } from '../src/index.js';

/** One aggregate's event: `event('a', 3)` is the 3rd event of order/a, id `a3`. */
function event(aggregateId: string, sequence: number) {
  return { id: `${aggregateId}${sequence}`, aggregateType: 'order', aggregateId, sequence };
}

/** A delivery as the relay puts it on the wire: every header present, so the same fields. */
const wire = event;

describe('checkDeliveries', () => {
  it('passes when every committed event arrives once, in order', () => {
    const log = new DeliveryLog();
    for (const seq of [1, 2, 3]) log.attempted(event('a', seq), 'committed');
    for (const seq of [1, 2, 3]) log.delivered(wire('a', seq));

    const report = checkDeliveries(log);

    expect(report).toMatchObject({
      attempted: 3,
      committed: 3,
      rolledBack: 0,
      unknown: 0,
      delivered: 3,
      distinctDelivered: 3,
      lost: [],
      unexpected: [],
      duplicated: [],
      duplicateDeliveries: 0,
      orderViolations: [],
      mismatches: [],
      withoutSequence: 0,
      ok: true,
    });
    expect(log.check()).toEqual(report);
    expect(() => expectDeliveryOk(report)).not.toThrow();
  });

  it('reports a committed event that never arrived as lost', () => {
    const log = new DeliveryLog();
    log.attempted(event('a', 1), 'committed');
    log.attempted(event('a', 2), 'committed');
    log.delivered(wire('a', 1));

    const report = checkDeliveries(log);

    expect(report.ok).toBe(false);
    expect(report.lost).toEqual([{ id: 'a2', aggregateType: 'order', aggregateId: 'a', sequence: 2, outcome: 'committed' }]);
  });

  it('reports deliveries of rolled-back writes and of ids nobody wrote as unexpected', () => {
    const log = new DeliveryLog();
    log.attempted(event('a', 1), 'committed');
    log.attempted({ id: 'rb', aggregateType: 'order', aggregateId: 'a' }, 'rolled-back');
    log.delivered(wire('a', 1));
    log.delivered({ id: 'rb', aggregateType: 'order', aggregateId: 'a', sequence: 2 });
    log.delivered({ id: 'stranger' });

    const report = checkDeliveries(log);

    expect(report.ok).toBe(false);
    expect(report.rolledBack).toBe(1);
    expect(report.lost).toEqual([]);
    expect(report.unexpected.map(({ id, reason, arrival }) => ({ id, reason, arrival }))).toEqual([
      { id: 'rb', reason: 'rolled-back', arrival: 1 },
      { id: 'stranger', reason: 'never-attempted', arrival: 2 },
    ]);
  });

  it('counts unknown outcomes separately: neither lost when missing nor unexpected when delivered', () => {
    const log = new DeliveryLog();
    log.attempted(event('a', 1), 'unknown');
    log.attempted(event('b', 1), 'unknown');
    log.attempted(event('c', 1), 'committed');
    log.delivered(wire('a', 1));
    log.delivered(wire('c', 1));

    const report = checkDeliveries(log);

    expect(report).toMatchObject({ attempted: 3, committed: 1, unknown: 2, unknownDelivered: 1, lost: [], unexpected: [], ok: true });
  });

  it('lets a retried write with the same id count by its strongest outcome', () => {
    const log = new DeliveryLog();
    log.attempted(event('a', 1), 'rolled-back');
    log.attempted(event('a', 1), 'committed');
    log.attempted(event('b', 1), 'unknown');
    log.attempted(event('b', 1), 'rolled-back');

    expect(log.attempts.map(({ id, outcome }) => ({ id, outcome }))).toEqual([
      { id: 'a1', outcome: 'committed' },
      { id: 'b1', outcome: 'unknown' },
    ]);
    expect(() => log.attempted(event('a', 1), 'committed')).toThrow(/already recorded as committed/);
    expect(() => log.attempted({ ...event('a', 1), aggregateId: 'other' }, 'unknown')).toThrow(/one id names one event/);
  });

  it('counts duplicates per id and in total without failing the check', () => {
    const log = new DeliveryLog();
    log.attempted(event('a', 1), 'committed');
    log.attempted(event('a', 2), 'committed');
    log.delivered(wire('a', 1));
    log.delivered(wire('a', 1));
    log.delivered(wire('a', 2));
    log.delivered(wire('a', 1));
    log.delivered(wire('a', 2));

    const report = checkDeliveries(log);

    expect(report.duplicated).toEqual([
      { id: 'a1', count: 3 },
      { id: 'a2', count: 2 },
    ]);
    expect(report.duplicateDeliveries).toBe(3);
    expect(report.delivered).toBe(5);
    expect(report.distinctDelivered).toBe(2);
    expect(report.ok).toBe(true);
  });

  it('flags first deliveries of one aggregate that arrive out of sequence order', () => {
    const log = new DeliveryLog();
    for (const seq of [1, 2, 3, 4, 5]) log.attempted(event('a', seq), 'committed');
    for (const seq of [1, 5, 2, 3, 4]) log.delivered(wire('a', seq));

    const report = checkDeliveries(log);

    expect(report.ok).toBe(false);
    // Compared pairwise with the previous first delivery: one swap is one violation.
    expect(report.orderViolations).toEqual([{ aggregate: 'order/a', previousId: 'a5', previousSequence: 5, id: 'a2', sequence: 2, arrival: 2 }]);
  });

  it('treats equal sequences of two ids in one aggregate as a violation (sequences are strictly increasing)', () => {
    const log = new DeliveryLog();
    log.attempted({ id: 'x', aggregateType: 'order', aggregateId: 'a', sequence: 1 }, 'committed');
    log.attempted({ id: 'y', aggregateType: 'order', aggregateId: 'a', sequence: 1 }, 'committed');
    log.delivered({ id: 'x' });
    log.delivered({ id: 'y' });

    expect(checkDeliveries(log).orderViolations).toHaveLength(1);
  });

  it('does not call a redelivered old event after newer ones a violation', () => {
    const log = new DeliveryLog();
    for (const seq of [1, 2, 3]) log.attempted(event('a', seq), 'committed');
    for (const seq of [1, 2, 3, 1, 2]) log.delivered(wire('a', seq));

    const report = checkDeliveries(log);

    expect(report.orderViolations).toEqual([]);
    expect(report.duplicateDeliveries).toBe(2);
    expect(report.ok).toBe(true);
  });

  it('orders per aggregate only: interleaving across aggregates is fine', () => {
    const log = new DeliveryLog();
    for (const id of ['a', 'b']) for (const seq of [1, 2]) log.attempted(event(id, seq), 'committed');
    for (const [id, seq] of [
      ['b', 1],
      ['a', 1],
      ['b', 2],
      ['a', 2],
    ] as const)
      log.delivered(wire(id, seq));

    expect(checkDeliveries(log).ok).toBe(true);
  });

  it('takes aggregate and sequence from the attempt when the delivery does not carry them', () => {
    const log = new DeliveryLog();
    log.attempted(event('a', 1), 'committed');
    log.attempted(event('a', 2), 'committed');
    log.attempted({ id: 'nosq', aggregateType: 'order', aggregateId: 'z' }, 'committed');
    log.delivered({ id: 'a2' });
    log.delivered({ id: 'a1' });
    log.delivered({ id: 'nosq' });

    const report = checkDeliveries(log);

    expect(report.orderViolations).toEqual([{ aggregate: 'order/a', previousId: 'a2', previousSequence: 2, id: 'a1', sequence: 1, arrival: 1 }]);
    expect(report.withoutSequence).toBe(1);
  });

  it('reports a delivery that carries a different aggregate or sequence than was written', () => {
    const log = new DeliveryLog();
    log.attempted({ id: 'e', aggregateType: 'order', aggregateId: 42, sequence: 7 }, 'committed');
    log.delivered({ id: 'e', aggregateType: 'order', aggregateId: '42', sequence: 8 });

    const report = checkDeliveries(log);

    expect(report.ok).toBe(false);
    expect(report.mismatches).toEqual([{ id: 'e', field: 'sequence', attempted: 7, delivered: 8, arrival: 0 }]);
  });

  it('keeps rolled-back deliveries out of the order check, which reports them once as unexpected', () => {
    const log = new DeliveryLog();
    // The rolled-back write's sequence 1 is reused by the committed write that followed it.
    log.attempted({ id: 'rb', aggregateType: 'order', aggregateId: 'a', sequence: 1 }, 'rolled-back');
    log.attempted({ id: 'ok', aggregateType: 'order', aggregateId: 'a', sequence: 1 }, 'committed');
    log.delivered({ id: 'rb' });
    log.delivered({ id: 'ok' });

    const report = checkDeliveries(log);

    expect(report.unexpected.map(({ id }) => id)).toEqual(['rb']);
    expect(report.orderViolations).toEqual([]);
  });

  it('rejects records a harness could not have meant', () => {
    const log = new DeliveryLog();
    expect(() => log.attempted({ id: '', aggregateType: 'order', aggregateId: 'a' }, 'committed')).toThrow(TypeError);
    expect(() => log.attempted(event('a', 1), 'maybe' as never)).toThrow(/outcome must be/);
    expect(() => log.delivered({ id: 'x', sequence: 1.5 })).toThrow(/sequence must be an integer/);
  });
});

describe('DeliveryLog.pending / allCommittedDelivered', () => {
  it('lists committed events still undelivered, ignoring unknown and rolled-back ones', () => {
    const log = new DeliveryLog();
    log.attempted(event('a', 1), 'committed');
    log.attempted(event('a', 2), 'committed');
    log.attempted(event('b', 1), 'unknown');
    log.attempted(event('c', 1), 'rolled-back');
    log.delivered(wire('a', 1));

    expect(log.pending().map(({ id }) => id)).toEqual(['a2']);
    expect(allCommittedDelivered(log)).toBe(false);
    log.delivered(wire('a', 2));
    expect(allCommittedDelivered(log)).toBe(true);
  });
});

describe('formatReport / describeFailure / expectDeliveryOk', () => {
  function failingLog(): DeliveryLog {
    const log = new DeliveryLog();
    for (const seq of [1, 2, 3]) log.attempted(event('a', seq), 'committed');
    log.attempted(event('b', 1), 'committed');
    log.attempted({ id: 'rb', aggregateType: 'order', aggregateId: 'c', sequence: 1 }, 'rolled-back');
    log.delivered(wire('a', 2));
    log.delivered(wire('a', 1));
    log.delivered(wire('a', 3));
    log.delivered(wire('a', 3));
    log.delivered({ id: 'rb', aggregateType: 'order', aggregateId: 'c', sequence: 1 });
    return log;
  }

  it('formats one figure per line with the verdict in the title line', () => {
    const text = formatReport(failingLog().check(), 'relay crash');
    const lines = text.split('\n');

    expect(lines[0]).toBe('relay crash: FAILED');
    expect(text).toMatch(/attempted\s+5 {2}\(committed 4, rolled back 1, unknown 0\)/);
    expect(text).toMatch(/delivered\s+5 {2}\(distinct 4, duplicates 1 over 1 ids\)/);
    expect(text).toMatch(/lost\s+1\n/);
    expect(text).toMatch(/unexpected\s+1\n/);
    expect(text).toMatch(/out of order\s+1\n/);
  });

  it('names the ids, aggregates and sequences behind each failure', () => {
    const text = describeFailure(failingLog().check());

    expect(text).toMatch(/^delivery check failed: 1 lost, 1 unexpected, 1 out of order, 0 mismatched/);
    expect(text).toContain('lost (committed, never delivered): 1\n  - b1  order/b #1');
    expect(text).toContain('unexpected: 1\n  - rb  order/c #1  its write rolled back, arrival 4');
    expect(text).toContain('order/a: #1 a1 arrived after #2 a2 (arrival 1)');
  });

  it('shows at most `max` entries per kind and says how many it left out', () => {
    const log = new DeliveryLog();
    for (let seq = 1; seq <= 30; seq++) log.attempted(event('a', seq), 'committed');

    const text = describeFailure(log.check(), 3);

    expect(text.match(/^ {2}- /gm)).toHaveLength(3);
    expect(text).toContain('… and 27 more');
  });

  it('throws a DeliveryCheckError carrying the report and the description', () => {
    const report = failingLog().check();

    let thrown: unknown;
    try {
      expectDeliveryOk(report);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(DeliveryCheckError);
    expect((thrown as DeliveryCheckError).message).toBe(describeFailure(report));
    expect((thrown as DeliveryCheckError).report).toBe(report);
  });
});
