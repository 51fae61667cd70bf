import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { PublishError, writeEvents, type OutboxStatus, type RelayHealth, type StoredEvent } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import { collectQueue, DeliveryLog, serviceUrl, uniqueName } from '@outboxkit/testkit';
import {
  assessReadiness,
  createRelayMetrics,
  createTenantMetrics,
  readinessLimits,
  startObservabilityServer,
  sumStatuses,
} from '../packages/relay/src/observability/index.js';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { runCli, startRelay } from './support/relay-process.js';

const docs = (name: string): string => readFileSync(new URL(`../docs/observability/${name}`, import.meta.url), 'utf8');

/** Names in the relay's registry (histograms also expose _bucket, _sum and _count series). */
/** A relay's metrics as `run --source logical` registers them: the polling ones plus the slot's. */
function logicalRelayMetrics(options: Parameters<typeof createRelayMetrics>[0] = {}) {
  const metrics = createRelayMetrics(options);
  metrics.bindSlot(() => null);
  return metrics;
}

async function registeredSeriesNames(): Promise<Set<string>> {
  const { registry } = logicalRelayMetrics();
  // A multi-tenant relay's own metrics are registered beside them.
  createTenantMetrics(registry, 100);
  const names = new Set<string>();
  for (const metric of await registry.getMetricsAsJSON()) {
    names.add(metric.name);
    if (String(metric.type) === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
  }
  return names;
}

const outboxNames = (expr: string): string[] => [...expr.matchAll(/\boutbox_[a-z0-9_]+/g)].map((match) => match[0]);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

describe('docs/observability: alert rules and dashboard match the relay registry', () => {
  it('alerts.yaml parses and covers the required alerts, each with severity and a summary', () => {
    const file = parseYaml(docs('alerts.yaml')) as { groups: { name: string; rules: Rule[] }[] };
    const rules = file.groups.flatMap((group) => group.rules);
    const names = rules.map((rule) => rule.alert);
    for (const required of [
      'OutboxRelayDown',
      'OutboxRelayStalled',
      'OutboxPublishLagHigh',
      'OutboxBacklogGrowing',
      'OutboxQuarantineNotEmpty',
      'OutboxAggregatesParked',
    ]) {
      expect(names).toContain(required);
    }
    for (const rule of rules) {
      expect(typeof rule.expr, rule.alert).toBe('string');
      expect(rule.labels?.severity, rule.alert).toMatch(/^(critical|warning)$/);
      expect(rule.annotations?.summary, rule.alert).toBeTruthy();
    }
  });

  it('every metric the rules and the dashboard use is registered by the relay', async () => {
    const registered = await registeredSeriesNames();
    const rules = (parseYaml(docs('alerts.yaml')) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules);
    const dashboard = JSON.parse(docs('grafana-dashboard.json')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const used = [...rules.map((rule) => rule.expr), ...dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr))];
    const names = new Set(used.flatMap(outboxNames));
    expect(names.size).toBeGreaterThan(10);
    expect([...names].filter((name) => !registered.has(name))).toEqual([]);
  });

  it('the dashboard shows every outbox_ metric and the README explains each metric and alert', async () => {
    const { registry } = logicalRelayMetrics({ defaultMetrics: false });
    const metrics = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    expect(metrics.every((name) => name.startsWith('outbox_'))).toBe(true);
    expect(metrics).toContain('outbox_logical_slot_retained_wal_bytes');
    expect(metrics).toContain('outbox_logical_slot_lag_seconds');
    const dashboard = docs('grafana-dashboard.json');
    const readme = docs('README.md');
    for (const name of metrics) {
      expect(dashboard, name).toContain(name);
      expect(readme, name).toContain(`\`${name}`);
    }
    for (const rule of (parseYaml(docs('alerts.yaml')) as { groups: { rules: Rule[] }[] }).groups.flatMap((group) => group.rules)) {
      expect(readme, rule.alert).toContain(`\`${rule.alert}\``);
    }
  });
});

describe('relay metrics', () => {
  const event = {
    id: '0190a0a0-0000-7000-8000-000000000001',
    aggregateType: 'customer',
    aggregateId: 'secret-aggregate-42',
    type: 'CustomerCreated',
    payload: { email: 'someone@example.com' },
    headers: {},
    occurredAt: new Date(Date.now() - 1500),
    destination: null,
    expiresAt: null,
    shard: 1,
    sequence: 1,
    position: 1,
    attempts: 0,
  } as StoredEvent;

  it('follows Prometheus conventions and keeps labels to fixed sets, with no event data', async () => {
    const metrics = createRelayMetrics({ defaultMetrics: false });
    metrics.observer.published!(event, new Date());
    metrics.observer.acked!(1);
    metrics.observer.failed!(event, new PublishError('unroutable', `event ${event.id} of ${event.aggregateId} was returned`), true);
    metrics.observer.failed!(event, Object.assign(new Error('weird'), { reason: 'secret-aggregate-42' }), false);
    metrics.observer.quarantined!(event, 'unroutable: secret-aggregate-42', 'parked');
    metrics.observer.error!('some-new-phase with secret-aggregate-42', new Error('x'));
    const text = await metrics.registry.metrics();
    expect(text).not.toMatch(/secret-aggregate-42|someone@example|0190a0a0/);
    expect(text).toContain('outbox_publish_failures_total{reason="unroutable"} 1');
    expect(text).toContain('outbox_publish_failures_total{reason="unknown"} 1');
    expect(text).toContain('outbox_quarantined_total{status="parked"} 1');
    expect(text).toContain('outbox_relay_errors_total{phase="other"} 1');
    expect(text).toContain('outbox_published_total 1');
    // occurredAt 1.5 s ago: one observation in the 2.5 s bucket, none in the 1 s bucket.
    expect(text).toContain('outbox_publish_lag_seconds_bucket{le="1"} 0');
    expect(text).toContain('outbox_publish_lag_seconds_bucket{le="2.5"} 1');
    for (const metric of await metrics.registry.getMetricsAsJSON()) {
      expect(metric.name).toMatch(/^outbox_[a-z0-9_]+$/);
      if (String(metric.type) === 'counter') expect(metric.name).toMatch(/_total$/);
    }
  });
});

describe('readiness', () => {
  const now = new Date('2026-01-01T00:01:00Z');
  const healthy: RelayHealth = {
    relayId: 'r',
    running: true,
    ownedShards: [1, 2],
    breakerOpen: false,
    publisherConnected: true,
    lastPollAt: new Date(now.getTime() - 500),
    configurationError: null,
  };
  const sample = { ok: true, at: new Date(now.getTime() - 1000) };
  const limits = readinessLimits(1000, 5000);

  it('is ready when every check passes', () => {
    expect(assessReadiness(healthy, sample, limits, now)).toMatchObject({ ready: true, failed: [] });
  });

  it.each([
    ['relay', { ...healthy, running: false }, sample],
    ['database', healthy, { ok: false, at: now, error: 'connect ECONNREFUSED' }],
    ['database', healthy, { ok: true, at: new Date(now.getTime() - 16_000) }],
    ['database', healthy, null],
    ['broker', { ...healthy, publisherConnected: false, breakerOpen: true }, sample],
    ['poll', { ...healthy, lastPollAt: new Date(now.getTime() - 16_000) }, sample],
    ['poll', { ...healthy, lastPollAt: null }, sample],
  ] as const)('fails the %s check', (check, health, lastSample) => {
    const report = assessReadiness(health, lastSample, limits, now);
    expect(report.ready).toBe(false);
    expect(report.failed).toEqual([check]);
    expect(report.checks[check].detail).not.toBe('');
  });

  it("a broker that refuses the relay's user fails the broker check with the refusal, even while connected", () => {
    const refused = 'RabbitMQ refused user "relay" write access to exchange "orders" (ACCESS_REFUSED)';
    const report = assessReadiness({ ...healthy, configurationError: refused }, sample, limits, now);
    expect(report).toMatchObject({ ready: false, failed: ['broker'] });
    expect(report.checks.broker.detail).toBe(`configuration: ${refused}`);
  });

  it('a standby relay owning no shards is ready', () => {
    expect(assessReadiness({ ...healthy, ownedShards: [], lastPollAt: null }, sample, limits, now).ready).toBe(true);
  });
});

describe('the metrics HTTP server', () => {
  it('answers /healthz, 404 elsewhere, 405 for writes', async () => {
    const metrics = createRelayMetrics({ defaultMetrics: false });
    const server = await startObservabilityServer({
      port: 0,
      host: '127.0.0.1',
      registry: metrics.registry,
      readiness: () =>
        assessReadiness(
          { relayId: 'r', running: false, ownedShards: [], breakerOpen: false, publisherConnected: false, lastPollAt: null, configurationError: null },
          null,
          readinessLimits(1000, 5000),
          new Date(),
        ),
    });
    try {
      const base = `http://127.0.0.1:${server.port}`;
      expect((await fetch(`${base}/healthz`)).status).toBe(200);
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
      const readyz = await fetch(`${base}/readyz`);
      expect(readyz.status).toBe(503);
      expect(((await readyz.json()) as { failed: string[] }).failed).toEqual(['relay', 'database', 'broker', 'poll']);
    } finally {
      await server.close();
    }
  });
});

describe('outbox-relay run --metrics-port (PostgreSQL, shared RabbitMQ)', () => {
  let db: TestDatabase;
  let target: DatabaseTarget;

  beforeAll(async () => {
    db = await createTestDatabase('PostgreSQL');
    target = await openDatabase(db.url, { tables: { schema: db.schema! } });
    await target.dialect.migrate(target.database);
  });

  afterAll(async () => {
    await target?.database.close();
    await db?.dispose();
  });

  it('rejects a bad port before connecting, without echoing the password', async () => {
    const result = await runCli(['run', '--database-url', 'postgres://u:s3cretpw@127.0.0.1:1/x', '--metrics-port', '70000']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--metrics-port: must be an integer from 0 to 65535/);
    expect(result.stdout + result.stderr).not.toContain('s3cretpw');
  });

  it('serves ready /readyz and counts what it published; no secrets or event data in /metrics or logs', async () => {
    const brokerUrl = await serviceUrl('rabbitmq');
    const exchange = uniqueName('okt_x');
    const collector = await collectQueue({
      url: brokerUrl,
      queue: uniqueName('okt_q'),
      declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
      log: new DeliveryLog(),
    });
    // Trust auth ignores the password, so it can be a canary here.
    const databaseUrl = db.url.replace('postgres://postgres@', 'postgres://postgres:pw-canary-77@');
    const relay = startRelay([
      '--database-url',
      databaseUrl,
      '--schema',
      db.schema!,
      '--broker-url',
      brokerUrl,
      '--exchange',
      exchange,
      '--metrics-port',
      '0',
      '--metrics-host',
      '127.0.0.1',
      '--status-interval-ms',
      '500',
      '--poll-interval-ms',
      '200',
    ]);
    try {
      const port = await until(() => /"port":(\d+),"paths"/.exec(relay.output())?.[1], 'metrics port in the log');
      const base = `http://127.0.0.1:${port}`;
      await until(async () => ((await fetch(`${base}/readyz`)).status === 200 ? true : undefined), '/readyz 200');
      for (let i = 0; i < 25; i++) {
        await target.database.transaction((tx) =>
          writeEvents(target.dialect, tx, {
            aggregateType: 'customer',
            aggregateId: `private-customer-${i % 5}`,
            type: 'CustomerCreated',
            payload: { email: `person${i}@example.com` },
          }),
        );
      }
      await collector.waitFor(25, 30_000);
      const text = await until(async () => {
        const body = await (await fetch(`${base}/metrics`)).text();
        return body.includes('outbox_published_total 25') && /outbox_backlog_events 0\n/.test(body) ? body : undefined;
      }, 'published_total 25 and backlog 0');
      expect(text).toContain('outbox_publish_lag_seconds_count 25');
      expect(text).toContain('outbox_shards_owned 64');
      expect(text).toMatch(/^process_cpu_user_seconds_total /m);
      expect(text).not.toMatch(/private-customer|example\.com|pw-canary-77/);
      expect(await relay.stop('SIGTERM')).toBe(0);
      expect(relay.output()).not.toMatch(/pw-canary-77|example\.com/);
    } finally {
      await relay.stop('SIGKILL');
      await collector.close();
    }
  }, 90_000);
});

async function until<T>(probe: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('tenant metrics', () => {
  const status = (backlog: number): OutboxStatus => ({
    backlog,
    oldestPendingAgeSeconds: backlog > 0 ? 2 : null,
    shardOwners: [],
    quarantined: 0,
    parkedAggregates: 0,
  });

  it('label series by tenant only while the tenant count is at most the bound, and drop a dropped tenant', async () => {
    const metrics = createRelayMetrics({ defaultMetrics: false });
    const tenants = createTenantMetrics(metrics.registry, 2);
    tenants.setTenants(['acme', 'globex']);
    tenants.observerFor('acme', metrics.observer).acked!(3);
    tenants.recordStatus('globex', status(7));
    let text = await metrics.registry.metrics();
    expect(text).toContain('outbox_tenants 2');
    expect(text).toContain('outbox_tenant_published_total{tenant="acme"} 3');
    expect(text).toContain('outbox_tenant_published_total{tenant="globex"} 0');
    expect(text).toContain('outbox_tenant_backlog_events{tenant="globex"} 7');
    // The process-wide counter adds every tenant up.
    expect(text).toContain('outbox_published_total 3');

    tenants.setTenants(['acme']);
    text = await metrics.registry.metrics();
    expect(text).not.toContain('tenant="globex"');
    expect(text).toContain('outbox_tenant_published_total{tenant="acme"} 3');

    tenants.setTenants(['acme', 'globex', 'initech']);
    tenants.observerFor('initech', metrics.observer).acked!(1);
    tenants.recordStatus('initech', status(1));
    text = await metrics.registry.metrics();
    expect(text).toContain('outbox_tenants 3');
    expect(text).not.toMatch(/tenant="/);
    expect(text).toContain('outbox_published_total 4');
  });

  it('sum tenant statuses: counts add up, the oldest age is the oldest', () => {
    expect(sumStatuses([status(2), { ...status(3), oldestPendingAgeSeconds: 9, quarantined: 1 }, status(0)])).toEqual({
      backlog: 5,
      oldestPendingAgeSeconds: 9,
      shardOwners: [],
      quarantined: 1,
      parkedAggregates: 0,
    });
  });
});
