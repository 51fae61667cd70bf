import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvents, type OutboxStatus } from '@outboxkit/core';
import { openDatabase, type DatabaseTarget } from '@outboxkit/relay';
import {
  allCommittedDelivered,
  collectQueue,
  DeliveryLog,
  expectDeliveryOk,
  formatReport,
  serviceUrl,
  uniqueName,
  type QueueCollector,
} from '@outboxkit/testkit';
import { fanOut } from '../packages/relay/src/tenants/tenant-space.js';
import { DATABASE_KINDS, type DatabaseKind } from './support/databases.js';
import { runCli, startRelay, type RelayProcess } from './support/relay-process.js';

/**
 * Where the tenants of one database kind live, made and removed the way an application would:
 * a schema (PostgreSQL), a database (MariaDB) or a file in one directory (SQLite).
 */
interface TenantHome {
  /** What `--database-url` takes for every tenant at once. */
  readonly url: string;
  /** Creates the tenant's outbox tables and opens them for a writer. */
  create(tenant: string): Promise<DatabaseTarget>;
  /** Removes the tenant's outbox for good. */
  drop(tenant: string): Promise<void>;
  dispose(): Promise<void>;
}

async function tenantHome(kind: DatabaseKind, tenants: () => readonly string[]): Promise<TenantHome> {
  if (kind === 'SQLite') {
    const dir = mkdtempSync(join(tmpdir(), 'okt-tenants-'));
    return {
      url: `sqlite:${dir}`,
      async create(tenant) {
        const target = await openDatabase(`sqlite:${join(dir, tenant)}`, {});
        await target.dialect.migrate(target.database);
        return target;
      },
      async drop(tenant) {
        rmSync(join(dir, tenant), { force: true });
      },
      async dispose() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = await serviceUrl(kind === 'PostgreSQL' ? 'postgres' : 'mysql');
  const drop = async (tenant: string): Promise<void> => {
    if (kind === 'PostgreSQL') {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${tenant}" CASCADE`);
      await client.end();
    } else {
      const conn = await mysql.createConnection(url);
      await conn.query(`DROP DATABASE IF EXISTS \`${tenant}\``);
      await conn.end();
    }
  };
  return {
    url,
    async create(tenant) {
      if (kind === 'MariaDB') {
        const conn = await mysql.createConnection(url);
        await conn.query(`CREATE DATABASE \`${tenant}\``);
        await conn.end();
      }
      // PostgreSQL's first migration creates the schema.
      const target = await openDatabase(url, { tables: { schema: tenant } });
      await target.dialect.migrate(target.database);
      return target;
    },
    drop,
    async dispose() {
      for (const tenant of tenants()) await drop(tenant);
    },
  };
}

/** One tenant's writer, queue and delivery log: its events are typed `<tenant>.credited`, and only they reach its queue. */
interface Tenant {
  readonly name: string;
  readonly target: DatabaseTarget;
  readonly log: DeliveryLog;
  readonly collector: QueueCollector;
}

describe.each(DATABASE_KINDS)('outbox-relay run with many tenants on %s', (kind) => {
  const prefix = uniqueName('okt_tn');
  const created: string[] = [];
  const tenants: Tenant[] = [];
  let home: TenantHome;
  let brokerUrl: string;
  const exchange = uniqueName('okt_tx');

  async function addTenant(suffix: string): Promise<Tenant> {
    const name = `${prefix}_${suffix}`;
    created.push(name);
    const target = await home.create(name);
    const log = new DeliveryLog();
    const collector = await collectQueue({
      url: brokerUrl,
      queue: uniqueName('okt_tq'),
      declare: { exchange, bindingKeys: [`${name}.#`], exchangeType: 'topic', durable: true },
      log,
    });
    const tenant = { name, target, log, collector };
    tenants.push(tenant);
    return tenant;
  }

  /** 10 aggregates x 10 events, the same aggregate ids in every tenant (a mix-up shows as an unexpected or out-of-order delivery). */
  async function writeTo(tenant: Tenant): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const event = { aggregateType: 'account', aggregateId: `acc-${i % 10}`, type: `${tenant.name}.credited`, payload: { i } };
      const [written] = await tenant.target.database.transaction((tx) => writeEvents(tenant.target.dialect, tx, event));
      tenant.log.attempted(written!, 'committed');
    }
  }

  async function expectDelivered(tenant: Tenant): Promise<void> {
    await tenant.collector.waitFor(allCommittedDelivered, 60_000);
    const report = tenant.log.check();
    console.log(formatReport(report, `${kind}: tenant ${tenant.name.slice(prefix.length + 1)}`));
    expect(report.duplicateDeliveries).toBe(0);
    expect(report.orderViolations).toEqual([]);
    expectDeliveryOk(report);
  }

  beforeAll(async () => {
    brokerUrl = await serviceUrl('rabbitmq');
    home = await tenantHome(kind, () => created);
  });

  afterAll(async () => {
    for (const tenant of tenants) {
      await tenant.collector.close();
      await tenant.target.database.close();
    }
    await home?.dispose();
  });

  it('serves every tenant matching the pattern, picks up one added while running, and releases one dropped', async () => {
    const [a, b] = [await addTenant('a'), await addTenant('b')];
    const tenantFlags = ['--database-url', home.url, '--tenant-pattern', `${prefix}_*`];
    const relay: RelayProcess = startRelay([
      ...tenantFlags,
      '--tenant-rescan-interval-ms',
      '1000',
      '--tenant-concurrency',
      '2',
      '--broker-url',
      brokerUrl,
      '--exchange',
      exchange,
      '--poll-interval-ms',
      '100',
      '--log-level',
      'info',
    ]);
    try {
      await Promise.all([writeTo(a!), writeTo(b!)]);
      await expectDelivered(a!);
      await expectDelivered(b!);

      // A tenant provisioned while the relay runs is found at the next scan.
      const c = await addTenant('c');
      await writeTo(c);
      await expectDelivered(c);
      // Its log line can reach this process after its event was delivered: wait for it.
      await waitFor(() => new RegExp(`"tenant":"${c.name}".*"msg":"tenant relay started"`).test(relay.output()), 30_000);

      const status = await runCli(['status', '--json', ...tenantFlags]);
      expect(status.code).toBe(0);
      const byTenant = (JSON.parse(status.stdout) as { tenants: (OutboxStatus & { tenant: string })[] }).tenants;
      expect(byTenant.map((t) => t.tenant)).toEqual([a!.name, b!.name, c.name]);
      for (const tenantStatus of byTenant) {
        expect(tenantStatus).toMatchObject({ backlog: 0, quarantined: 0 });
        expect(tenantStatus.shardOwners.length).toBe(1);
      }

      const cleanup = await runCli(['cleanup', ...tenantFlags, '--history-retention', '0s', '--inbox-retention', 'off']);
      expect(cleanup.stderr).not.toMatch(/error/i);
      expect(cleanup.code).toBe(0);
      for (const tenant of [a!, b!, c]) expect(cleanup.stdout).toContain(`[${tenant.name}] cleanup: deleted 100 history row(s)`);

      // Until now, no errors at all.
      const beforeDrop = relay.output();
      expect(beforeDrop).not.toMatch(/SQLITE_BUSY|"level":50/);

      // A dropped tenant's relay is stopped at the next scan (or at once, when its tables vanish under it).
      await b!.target.database.close();
      tenants.splice(tenants.indexOf(b!), 1);
      await b!.collector.close();
      await home.drop(b!.name);
      await waitFor(() => new RegExp(`"tenant":"${b!.name}".*"msg":"tenant dropped`).test(relay.output()), 30_000);

      expect(await relay.stop('SIGTERM')).toBe(0);
      // Errors after the drop are the dropped tenant's own (its tables went away under its relay).
      const errorsAfterDrop = relay
        .output()
        .slice(beforeDrop.length)
        .split('\n')
        .filter((line) => line.includes('"level":50'));
      for (const line of errorsAfterDrop) expect(line).toContain(`"tenant":"${b!.name}"`);
    } finally {
      await relay.stop('SIGKILL');
    }
  }, 180_000);
});

describe('outbox-relay: tenant flag and key errors', () => {
  it.each([
    [['run', '--database-url', 'postgres://u:s3cretpw@127.0.0.1:5432/test', '--tenants', 'a', '--schema', 'b'], /--schema: cannot be combined with --tenants/],
    [
      ['status', '--database-url', 'postgres://u:s3cretpw@127.0.0.1:5432/test', '--tenants', 'ok,not-valid'],
      /--tenants: "not-valid" is not a valid identifier/,
    ],
    [['status', '--database-url', 'sqlite:/tmp', '--tenants', '../etc/passwd'], /--tenants: "..\/etc\/passwd" is not a file name/],
    [['status', '--database-url', 'mysql://u:s3cretpw@127.0.0.1:3306/test', '--tenant-pattern', "t_*'; --"], /--tenant-pattern: .* may use only/],
    [
      ['run', '--database-url', 'postgres://u:s3cretpw@127.0.0.1:5432/test', '--tenants', 'a', '--tenant-concurrency', '0'],
      /--tenant-concurrency: must be an integer from 1/,
    ],
  ])('%j fails with exit code 2 naming the flag', async (args, message) => {
    const result = await runCli(args);
    expect(result.stderr).toMatch(message);
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).not.toContain('s3cretpw');
  });
});

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('fanOut: one wake-up source for every tenant of a process', () => {
  it('subscribes once, wakes only the tenant a commit names (every tenant when it names none), and unsubscribes after the last', async () => {
    let subscriptions = 0;
    let unsubscribed = 0;
    let notify: (where?: string) => void = () => {};
    const source = {
      subscribe(wake: (where?: string) => void) {
        subscriptions++;
        notify = wake;
        return () => {
          unsubscribed++;
        };
      },
    };
    const forTenant = fanOut(source);
    const woken: string[] = [];
    const stops = ['acme', 'globex'].map((tenant) => forTenant(tenant).subscribe(() => woken.push(tenant)));
    expect(subscriptions).toBe(1);
    notify('globex');
    expect(woken).toEqual(['globex']);
    notify(undefined);
    expect(woken).toEqual(['globex', 'acme', 'globex']);
    notify('initech');
    expect(woken).toHaveLength(3);
    await stops[0]!();
    expect(unsubscribed).toBe(0);
    await stops[1]!();
    expect(unsubscribed).toBe(1);
  });
});
