// A broker that refuses the relay: `run --once` must not exit 0 with the events still pending,
// and a missing publish permission is a configuration failure (readiness, one error line per
// interval, its own metric reason). The limited user and its vhost are created on the local
// RabbitMQ with rabbitmqctl (no management API there) and removed afterwards.
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvents } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import { serviceUrl, uniqueName } from '@outboxkit/testkit';
import { waitUntil } from './faults/harness.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { runCli, startRelay, type RelayProcess } from './support/relay-process.js';

const ctl = (...args: string[]): string => execFileSync('/usr/sbin/rabbitmqctl', args, { encoding: 'utf8', stdio: 'pipe' });
describe('outbox-relay against a broker that refuses it', () => {
  let db: TestDatabase;
  let target: DatabaseTarget;
  let dbFlags: string[];
  const vhost = uniqueName('okt_vh');
  const user = uniqueName('okt_user');
  const password = 'relay-s3cret';
  let brokerUrl: URL;

  beforeAll(async () => {
    db = await createTestDatabase('PostgreSQL');
    target = await openDatabase(db.url, { tables: { schema: db.schema! } });
    await target.dialect.migrate(target.database);
    dbFlags = ['--database-url', db.url, '--schema', db.schema!];
    brokerUrl = new URL(await serviceUrl('rabbitmq'));
    ctl('add_vhost', vhost);
    ctl('add_user', user, password);
    // configure and read everything (the relay declares its exchange), write nothing: every publish is refused.
    ctl('set_permissions', '-p', vhost, user, '.*', '^$', '.*');
    await target.database.transaction((tx) => writeEvents(target.dialect, tx, { aggregateType: 'doc', aggregateId: 'd-1', type: 'doc.saved', payload: {} }));
  });
  afterAll(async () => {
    try {
      ctl('delete_user', user);
    } finally {
      ctl('delete_vhost', vhost);
    }
    await target?.database.close();
    await db?.dispose();
  });

  const limitedUrl = (): string => {
    const url = new URL(brokerUrl);
    url.username = user;
    url.password = password;
    url.pathname = `/${encodeURIComponent(vhost)}`;
    return url.toString();
  };

  it('run --once exits 1 with the reason on stderr when the broker refuses the login; the event stays pending', async () => {
    const url = new URL(brokerUrl);
    url.password = 'wrong-s3cret';
    const result = await runCli(['run', '--once', ...dbFlags, '--broker-url', url.toString(), '--exchange', uniqueName('okt_fx'), '--log-level', 'silent']);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(/run --once stopped with events still pending: publishing failed \(.*ACCESS_REFUSED/);
    expect(result.stdout + result.stderr).not.toContain('wrong-s3cret');
    expect(await target.dialect.countPending(target.database)).toBe(1);
  });

  it('run --once exits 1 naming the missing write permission', async () => {
    const result = await runCli(['run', '--once', ...dbFlags, '--broker-url', limitedUrl(), '--exchange', uniqueName('okt_fx'), '--log-level', 'silent']);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(
      /still pending: publishing failed \(RabbitMQ refused to let the relay's user publish .*ACCESS_REFUSED.*grant the user write permission/,
    );
    expect(result.stdout + result.stderr).not.toContain(password);
    expect(await target.dialect.countPending(target.database)).toBe(1);
  });

  it('a running relay without write permission: not ready (broker: configuration, naming the permission), reason="permission" failures, one error line per interval', async () => {
    let relay: RelayProcess | undefined;
    try {
      relay = startRelay([
        ...dbFlags,
        '--broker-url',
        limitedUrl(),
        '--exchange',
        uniqueName('okt_fx'),
        '--metrics-port',
        '0',
        '--metrics-host',
        '127.0.0.1',
        '--poll-interval-ms',
        '200',
        '--log-level',
        'info',
      ]);
      const port = await waitUntil(
        'the metrics port',
        async () => {
          const match = /"port":(\d+),"paths":\["\/metrics"/.exec(relay!.output());
          return match ? Number(match[1]) : undefined;
        },
        30_000,
      );
      // At least three refused publishes (the breaker retries with backoff), so the rate limit is what keeps the log to one line.
      await waitUntil(
        'three refused publishes',
        async () => {
          const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
          return Number(/outbox_publish_failures_total\{reason="permission"\} (\d+)/.exec(text)?.[1] ?? 0) >= 3;
        },
        30_000,
      );
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(503);
      const body = (await ready.json()) as { failed: string[]; checks: { broker: { detail: string } } };
      expect(body.failed).toContain('broker');
      expect(body.checks.broker.detail).toMatch(/^configuration: RabbitMQ refused to let the relay's user publish .*write permission/);
      const errorLines = relay
        .output()
        .split('\n')
        .filter((line) => line.includes('"level":50') && line.includes("broker refused the relay's user"));
      expect(errorLines).toHaveLength(1);
      expect(relay.output()).not.toContain(password);
      expect(await target.dialect.countPending(target.database)).toBe(1);
    } finally {
      await relay?.stop('SIGTERM');
    }
  });
});
