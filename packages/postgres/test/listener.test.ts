import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueue, pgListener, type PgListenerState } from '../src/index.js';
import { begin, commit, createTestSchema, orderEvent, rollback, uniqueName, waitFor, type TestSchema } from './helpers.js';

describe('pgListener', () => {
  let t: TestSchema;
  beforeAll(async () => {
    t = await createTestSchema();
  });
  afterAll(async () => {
    await t.drop();
  });

  /**
   * A listener on a unique channel whose clients the test can see: the test listens to the same
   * client's raw notifications, so a sentinel with a payload proves what arrived before it.
   */
  function observedListener(channel: string) {
    const states: PgListenerState[] = [];
    const errors: Error[] = [];
    const clients: pg.Client[] = [];
    const payloads: string[] = [];
    let wakes = 0;
    const listener = pgListener({
      channel,
      reconnect: { initialMs: 20, maxMs: 200 },
      onStateChange: (state) => states.push(state),
      onError: (error) => errors.push(error),
      connect: async () => {
        const client = new pg.Client({ connectionString: t.url });
        await client.connect();
        client.on('notification', (message) => payloads.push(message.payload ?? ''));
        clients.push(client);
        return client;
      },
    });
    const unsubscribe = listener.subscribe(() => {
      wakes += 1;
    });
    return { states, errors, clients, payloads, unsubscribe, wakes: () => wakes };
  }

  const sentinel = async (channel: string, payloads: string[], name: string) => {
    await t.pool.query('SELECT pg_notify($1, $2)', [channel, name]);
    await waitFor(`sentinel ${name}`, () => payloads.includes(name));
  };

  it('wakes on a committed enqueue and not on a rolled-back one', async () => {
    const channel = uniqueName('ch');
    const options = { tables: { schema: t.schema }, notify: { channel } };
    const l = observedListener(channel);
    try {
      await waitFor('LISTEN', () => l.states.includes('listening'));
      await waitFor('the wake after the first LISTEN', () => l.wakes() === 1);

      const rolledBack = await begin(t.pool);
      await enqueue(rolledBack, orderEvent('o-rb'), options);
      await rollback(rolledBack);
      // Notifications arrive in order on the connection: nothing from the rolled-back
      // transaction can show up after this sentinel.
      await sentinel(channel, l.payloads, 'after-rollback');
      expect(l.payloads).toEqual(['after-rollback']);
      expect(l.wakes()).toBe(2); // the sentinel itself

      const committed = await begin(t.pool);
      await enqueue(committed, [orderEvent('o-c1'), orderEvent('o-c2')], options);
      await commit(committed);
      await waitFor('the wake for the commit', () => l.wakes() === 3);
      await sentinel(channel, l.payloads, 'after-commit');
      // The payload names the writer's schema, so a relay serving many schemas wakes only that one's.
      expect(l.payloads).toEqual(['after-rollback', t.schema, 'after-commit']);
      expect(l.wakes()).toBe(4);
      expect(l.errors).toEqual([]);
    } finally {
      await l.unsubscribe();
    }
    expect(l.states.at(-1)).toBe('closed');
  });

  it('reports a terminated connection, reconnects, wakes once, and keeps working', async () => {
    const channel = uniqueName('ch');
    const l = observedListener(channel);
    try {
      await waitFor('LISTEN', () => l.states.includes('listening'));
      const first = l.clients[0]!;
      const { rows } = await first.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const wakesBefore = l.wakes();
      await t.pool.query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);

      await waitFor('the reconnect', () => l.clients.length === 2 && l.states.at(-1) === 'listening');
      expect(l.errors.length).toBeGreaterThanOrEqual(1);
      expect(l.states).toEqual(['listening', 'reconnecting', 'listening']);
      // Notifications sent while it was down are lost, so it wakes the relay once on its own.
      await waitFor('the wake after reconnecting', () => l.wakes() === wakesBefore + 1);

      const client = await begin(t.pool);
      await enqueue(client, orderEvent('o-after'), { tables: { schema: t.schema }, notify: { channel } });
      await commit(client);
      await waitFor('the wake for the commit after reconnecting', () => l.wakes() === wakesBefore + 2);
    } finally {
      await l.unsubscribe();
    }
    // Unsubscribing closed the dedicated connection.
    const { rows } = await t.pool.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = $1`, [`LISTEN "${channel}"`]);
    expect(rows[0].n).toBe(0);
  });

  it('keeps retrying while the server refuses connections, and never reports the password', async () => {
    const errors: Error[] = [];
    const states: PgListenerState[] = [];
    const listener = pgListener({
      connect: 'postgres://app:hunter2-secret@127.0.0.1:1/db',
      reconnect: { initialMs: 10, maxMs: 20 },
      onError: (error) => errors.push(error),
      onStateChange: (state) => states.push(state),
    });
    const unsubscribe = listener.subscribe(() => {});
    try {
      await waitFor('three failed attempts', () => errors.length >= 3);
    } finally {
      await unsubscribe();
    }
    expect(states.filter((s) => s === 'listening')).toEqual([]);
    expect(states.at(-1)).toBe('closed');
    for (const error of errors) expect(`${error.message}\n${error.stack}`).not.toContain('hunter2-secret');
    // Closed means closed: no attempt is scheduled any more.
    const count = errors.length;
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(errors.length).toBe(count);
  });

  it('listens through a URL with a dedicated connection', async () => {
    const channel = uniqueName('ch');
    let wakes = 0;
    const states: PgListenerState[] = [];
    const unsubscribe = pgListener({ connect: t.url, channel, onStateChange: (s) => states.push(s) }).subscribe(() => {
      wakes += 1;
    });
    try {
      await waitFor('LISTEN', () => states.includes('listening') && wakes === 1);
      await t.pool.query('SELECT pg_notify($1, $2)', [channel, 'x']);
      await waitFor('the wake', () => wakes === 2);
    } finally {
      await unsubscribe();
    }
  });
});
