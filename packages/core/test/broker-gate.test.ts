import { describe, expect, it } from 'vitest';
import { BrokerGate, PublishError, type Publisher } from '@outboxkit/core';

// A broker that goes away and comes back on demand is what a real server cannot do cheaply in a
// unit test: the gate only reads isConnected() and connected(), so a fake publisher drives it.
// The end-to-end path (a relay process with a wrong password or a stopped broker) is in
// test/relay-broker-unreachable.test.ts.

class FakeBroker implements Publisher {
  up = false;
  /** What connected() rejects with while down; null: it waits (a broker that does not answer). */
  refusal: Error | null = new PublishError('connection', 'the connection to RabbitMQ at amqp://app:***@broker/ is down (ACCESS_REFUSED)');

  isConnected(): boolean {
    return this.up;
  }

  connected(signal: AbortSignal): Promise<void> {
    if (this.up) return Promise.resolve();
    if (this.refusal !== null) return Promise.reject(this.refusal);
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
  }

  async publish(): Promise<void> {
    throw new Error('not used');
  }

  async close(): Promise<void> {}
}

function clock(): { now: () => number; advance(ms: number): void } {
  let time = 1_000_000;
  return {
    now: () => time,
    advance: (ms) => {
      time += ms;
    },
  };
}

describe('BrokerGate', () => {
  it('probe: a reachable broker lets the relay join', async () => {
    const broker = new FakeBroker();
    broker.up = true;
    const gate = new BrokerGate(broker, 5000);
    expect(await gate.probe(10)).toBeNull();
    expect(gate.out).toBe(false);
    expect(gate.step()).toBe('publish');
  });

  it("probe: a refused connection keeps the relay out with the publisher's reason, and it rejoins once connected", async () => {
    const broker = new FakeBroker();
    const gate = new BrokerGate(broker, 5000);
    expect(await gate.probe(10)).toBe('the connection to RabbitMQ at amqp://app:***@broker/ is down (ACCESS_REFUSED)');
    expect(gate.out).toBe(true);
    expect([gate.step(), gate.step()]).toEqual(['wait', 'wait']);
    broker.up = true;
    expect(gate.step()).toBe('rejoin');
    expect(gate.out).toBe(false);
    expect(gate.step()).toBe('publish');
  });

  it('probe: a broker that does not answer in time is named as such', async () => {
    const broker = new FakeBroker();
    broker.refusal = null;
    const gate = new BrokerGate(broker, 5000);
    expect(await gate.probe(20)).toBe('no connection to the broker within 20 ms');
    expect(gate.out).toBe(true);
  });

  it('a publisher without connected() is taken at its word', async () => {
    const broker = new FakeBroker();
    const bare: Publisher = { isConnected: () => broker.up, publish: () => broker.publish(), close: () => broker.close() };
    const gate = new BrokerGate(bare, 5000);
    expect(await gate.probe(10)).toBeNull();
    expect(await gate.reason()).toBe('the publisher reports no broker connection');
  });

  it('while running: a blip shorter than the grace keeps the shards, a longer outage leaves and the return rejoins', async () => {
    const broker = new FakeBroker();
    broker.up = true;
    const time = clock();
    const gate = new BrokerGate(broker, 5000, time.now);
    expect(await gate.probe(10)).toBeNull();

    broker.up = false;
    expect(gate.step()).toBe('publish');
    time.advance(4999);
    expect(gate.step()).toBe('publish');
    broker.up = true;
    expect(gate.step()).toBe('publish');

    // The blip is forgotten: a new outage gets the whole grace again.
    broker.up = false;
    expect(gate.step()).toBe('publish');
    time.advance(5000);
    expect(gate.step()).toBe('leave');
    expect(gate.out).toBe(true);
    expect(await gate.reason()).toContain('ACCESS_REFUSED');
    time.advance(60_000);
    expect(gate.step()).toBe('wait');
    broker.up = true;
    expect(gate.step()).toBe('rejoin');
    expect(gate.step()).toBe('publish');
  });
});
