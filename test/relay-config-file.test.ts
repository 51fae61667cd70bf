import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeEvents, type OutboxStatus } from '@outboxkit/core';
import { openDatabase } from '@outboxkit/relay';
import { collectQueue, serviceUrl, uniqueName } from '@outboxkit/testkit';
import { createTestDatabase, type TestDatabase } from './support/databases.js';
import { runCli, type CliResult } from './support/relay-process.js';

// `--config <file>` (docs/operations.md, "Config file"): the file's keys set the flags they
// mirror; flag > env > file > default; mistakes name the key and the file.

const PASSWORD = 's3cretpw-in-file';

describe('outbox-relay --config: help', () => {
  it.each([
    ['run'],
    ['migrate'],
    ['status'],
    ['health'],
    ['replay'],
    ['reconcile'],
    ['cleanup'],
    ['quarantine', 'list'],
    ['quarantine', 'retry'],
    ['quarantine', 'skip'],
    ['dead-letters', 'list'],
    ['dead-letters', 'replay'],
  ])('%s --help offers --config and OUTBOX_CONFIG', async (...command) => {
    const result = await runCli([...command, '--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('--config <file>');
    expect(result.stdout).toContain('OUTBOX_CONFIG');
  });
});

describe('outbox-relay --config: a file with a mistake exits 2 naming the key and the file, never a password', () => {
  let dir: string;
  let sqlite: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'okt-config-'));
    sqlite = `sqlite:${join(dir, 'outbox.db')}`;
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const pg = `postgres://relay:${PASSWORD}@127.0.0.1:1/app`;
  it.each<[string, string, string[], (file: string) => string]>([
    ['unknown.yaml', 'relay:\n  batchsize: 10\n', ['status'], (f) => `relay.batchsize in ${f}: unknown key; did you mean relay.batchSize? (`],
    ['misplaced.yaml', `databaseUrl: ${pg}\n`, ['status'], (f) => `databaseUrl in ${f}: unknown key; did you mean database.url? (`],
    ['unsectioned.yaml', 'batchSize: 10\n', ['status'], (f) => `batchSize in ${f}: unknown key; did you mean relay.batchSize or retention.batchSize? (`],
    // A command that does not use the key still checks it: a file is valid or refused.
    ['type.yaml', 'relay:\n  batchSize: ten\n', ['migrate', '--print'], (f) => `relay.batchSize in ${f}: must be an integer, got "ten"`],
    ['range.yaml', 'relay:\n  batchSize: 0\n', ['run'], (f) => `relay.batchSize in ${f}: must be an integer from 1 to 10000, got 0`],
    ['boolean.yaml', 'relay:\n  history: "no"\n', ['status'], (f) => `relay.history in ${f}: must be true or false, got "no"`],
    ['choice.yaml', 'relay:\n  poisonPolicy: drop\n', ['status'], (f) => `relay.poisonPolicy in ${f}: must be one of park, dead-letter, got "drop"`],
    ['string.yaml', 'database:\n  schema: 5\n', ['status'], (f) => `database.schema in ${f}: must be a string (quote it), got 5`],
    ['section.yaml', 'relay: 5\n', ['status'], (f) => `relay in ${f}: must be a mapping with the keys id, batchSize, maxInFlight,`],
    [
      'top.yaml',
      '- database\n',
      ['status'],
      (f) => `--config: ${f} must be a mapping of sections (database, tenants, broker, routes, relay, metrics, retention, health), got a list`,
    ],
    [
      'format.yaml',
      'broker:\n  messageFormat: xml\n',
      ['run'],
      (f) => `broker.messageFormat in ${f}: "xml" is not a message format; use one of native, cloudevents-binary, cloudevents-structured`,
    ],
    [
      'tenants.yaml',
      'tenants:\n  - name: eu\n',
      ['status'],
      (f) => `tenants in ${f}: must be a mapping with the keys names, pattern, rescanIntervalMs, concurrency, labelMax`,
    ],
    [
      'tenant-names.yaml',
      `database:\n  url: ${pg}\ntenants:\n  names: [acme, "no-dash"]\n`,
      ['status'],
      (f) => `tenants.names in ${f}: "no-dash" is not a valid identifier`,
    ],
    [
      'tenant-pattern.yaml',
      `database:\n  url: ${pg}\ntenants:\n  pattern: "t_%"\n`,
      ['status'],
      (f) => `tenants.pattern in ${f}: "t_%" may use only letters, digits, _ and the wildcards * and ?`,
    ],
    [
      'tenant-concurrency.yaml',
      `database:\n  url: ${pg}\ntenants:\n  names: acme\n  concurrency: 0\n`,
      ['run'],
      (f) => `tenants.concurrency in ${f}: must be an integer from 1 to 1000, got 0`,
    ],
    [
      'other-broker.yaml',
      `broker:\n  url: amqp://guest:${PASSWORD}@127.0.0.1:1\nroutes:\n  subjectPrefix: shop\n`,
      ['run'],
      (f) => `routes.subjectPrefix in ${f}: applies to NATS only, but --broker-url is a RabbitMQ URL (amqp://guest:***@127.0.0.1:1)`,
    ],
    ['scheme.yaml', `database:\n  url: redis://u:${PASSWORD}@127.0.0.1/0\n`, ['status'], (f) => `database.url in ${f}: unknown scheme "redis:"`],
    ['duration.json', '{ "retention": { "inbox": "forever" } }', ['cleanup'], (f) => `retention.inbox in ${f}: "forever" is not a duration`],
    [
      'broken.yaml',
      `database:\n  url: postgres://u:${PASSWORD}@h/db: x\n`,
      ['status'],
      (f) => `--config: ${f} is not valid YAML at line 2, column 8: Nested mappings are not allowed in compact mappings`,
    ],
    [
      'broken.json',
      `{\n  "database": { "url": "${pg}" },\n  "relay": { "batchSize": 10, }\n}\n`,
      ['status'],
      (f) => `--config: ${f} is not valid JSON at line 3, column 31: expected double-quoted property name`,
    ],
    ['unexpected.json', '{\n  "relay": { "history": yes }\n}\n', ['status'], (f) => `--config: ${f} is not valid JSON at line 2, column 25: unexpected 'y'`],
    ['config.toml', 'relay = 1\n', ['status'], (f) => `--config: ${f}: unknown file type ".toml"; a config file ends in .json, .yaml or .yml`],
  ])('%s', async (name, content, command, expected) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    // The database comes from the file or from here (a flag would beat the file's), so each command gets as far as the mistake.
    const database = content.includes('database') ? [] : ['--database-url', sqlite];
    const result = await runCli([...command, '--config', file, ...database]);
    expect(result.stderr).toContain(`outbox-relay: ${expected(file)}`);
    expect(result.code).toBe(2);
    expect(result.stdout + result.stderr).not.toContain(PASSWORD);
  });

  it('a file that is not there names the path, and OUTBOX_CONFIG when it came from there', async () => {
    const missing = join(dir, 'nope.yaml');
    const byFlag = await runCli(['status', '--config', missing]);
    expect(byFlag.stderr).toContain(`outbox-relay: --config: cannot read ${missing}: no such file`);
    expect(byFlag.code).toBe(2);
    const byEnv = await runCli(['status'], { OUTBOX_CONFIG: missing });
    expect(byEnv.stderr).toContain(`outbox-relay: OUTBOX_CONFIG: cannot read ${missing}: no such file`);
    expect(byEnv.code).toBe(2);
  });
});

describe('outbox-relay --config on PostgreSQL and RabbitMQ', () => {
  let db: TestDatabase;
  let dir: string;
  let brokerUrl: string;
  /** The test database's URL with a password in it (trust auth ignores it), to show it is never printed. */
  let databaseUrl: string;

  beforeAll(async () => {
    db = await createTestDatabase('PostgreSQL');
    brokerUrl = await serviceUrl('rabbitmq');
    dir = mkdtempSync(join(tmpdir(), 'okt-config-'));
    const url = new URL(db.url);
    url.password = PASSWORD;
    databaseUrl = url.toString();
    const migrated = await runCli(['migrate', '--database-url', db.url, '--schema', db.schema!]);
    expect(migrated.code).toBe(0);
  });

  afterAll(async () => {
    await db?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Writes one event, runs `outbox-relay <args>` and returns its result once the event arrived on `exchange` (or did not). */
  async function publishOne(exchange: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ result: CliResult; delivered: string[] }> {
    const collector = await collectQueue({
      url: brokerUrl,
      queue: uniqueName('okt_q'),
      declare: { exchange, bindingKeys: ['#'], exchangeType: 'topic', durable: true },
    });
    const target = await openDatabase(db.url, { tables: { schema: db.schema! } });
    try {
      const [event] = await target.database.transaction((tx) =>
        writeEvents(target.dialect, tx, { aggregateType: 'order', aggregateId: uniqueName('o'), type: 'order.placed', payload: { n: 1 } }),
      );
      const result = await runCli(args, env);
      if (result.code === 0) await collector.waitFor((log) => log.deliveries.some((delivery) => delivery.id === event!.id), 20_000);
      return { result, delivered: collector.log.deliveries.map((delivery) => delivery.id).filter((id) => id === event!.id) };
    } finally {
      await target.database.close();
      await collector.close();
    }
  }

  function configFile(name: string, content: string): string {
    const file = join(dir, name);
    writeFileSync(file, content);
    return file;
  }

  it('a run driven entirely by a YAML file publishes the event, and the password in the file is never shown', async () => {
    const exchange = uniqueName('okt_x');
    const file = configFile(
      'outbox-relay.config.yaml',
      [
        'database:',
        `  url: ${databaseUrl}`,
        `  schema: ${db.schema}`,
        'broker:',
        `  url: ${brokerUrl}`,
        'routes:',
        `  exchange: ${exchange}`,
        'relay:',
        '  batchSize: 10',
        '  logLevel: info',
        '',
      ].join('\n'),
    );
    const { result, delivered } = await publishOne(exchange, ['run', '--once', '--config', file]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(delivered).toHaveLength(1);
    expect(result.stdout).toContain('"msg":"relay starting"');
    expect(result.stdout).not.toContain(PASSWORD);

    const status = await runCli(['status', '--json', '--config', file]);
    expect(status.code).toBe(0);
    expect((JSON.parse(status.stdout) as OutboxStatus).backlog).toBe(0);
    const text = await runCli(['status', '--config', file]);
    expect(text.stdout).toMatch(/^database {12}postgres:\/\/postgres:\*\*\*@/m);
    expect(text.stdout + text.stderr).not.toContain(PASSWORD);
  }, 60_000);

  it('a flag beats the file (JSON)', async () => {
    const exchange = uniqueName('okt_x');
    // Nothing is bound to the file's exchange: had the file won, the event would be unroutable and `run --once` would exit 1.
    const file = configFile(
      'flag.json',
      JSON.stringify({ database: { url: databaseUrl, schema: db.schema }, broker: { url: brokerUrl }, routes: { exchange: uniqueName('okt_unbound') } }),
    );
    const { result, delivered } = await publishOne(exchange, ['run', '--once', '--config', file, '--exchange', exchange, '--log-level', 'warn']);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(delivered).toHaveLength(1);
  }, 60_000);

  it('an environment variable beats the file, and a flag beats both (file named by OUTBOX_CONFIG)', async () => {
    const file = configFile(
      'env.yml',
      `database:\n  url: ${databaseUrl}\n  schema: ${db.schema}\nbroker:\n  url: ${brokerUrl}\nroutes:\n  exchange: ${uniqueName('okt_unbound')}\nrelay:\n  logLevel: warn\n`,
    );
    const byEnv = uniqueName('okt_x');
    const env = await publishOne(byEnv, ['run', '--once'], { OUTBOX_CONFIG: file, OUTBOX_EXCHANGE: byEnv });
    expect(env.result.stdout + env.result.stderr).toBe('');
    expect(env.result.code).toBe(0);
    expect(env.delivered).toHaveLength(1);

    const byFlag = uniqueName('okt_x');
    const flag = await publishOne(byFlag, ['run', '--once', '--exchange', byFlag], { OUTBOX_CONFIG: file, OUTBOX_EXCHANGE: uniqueName('okt_unbound') });
    expect(flag.result.stdout + flag.result.stderr).toBe('');
    expect(flag.result.code).toBe(0);
    expect(flag.delivered).toHaveLength(1);
  }, 60_000);

  it("the docs' complete example is a valid file: run and cleanup accept every key", async () => {
    const docs = readFileSync(new URL('../docs/operations.md', import.meta.url), 'utf8');
    const section = docs.slice(docs.indexOf('## Config file'));
    const example = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
    expect(example).toContain('tablePrefix: outbox_');
    const file = configFile('docs-example.yaml', example!);
    // Only where the services are differs from the docs.
    const here = ['--database-url', db.url, '--schema', db.schema!, '--broker-url', brokerUrl];
    const exchange = uniqueName('okt_x');
    const { result, delivered } = await publishOne(exchange, ['run', '--once', '--config', file, ...here, '--exchange', exchange]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(delivered).toHaveLength(1);
    expect(result.stdout).toContain('"relayId":"relay-a"');

    const cleanup = await runCli(['cleanup', '--config', file, '--database-url', db.url, '--schema', db.schema!]);
    expect(cleanup.stderr).toBe('');
    expect(cleanup.code).toBe(0);
    expect(cleanup.stdout).toMatch(/^cleanup: deleted 0 history row\(s\) published before .* and 0 inbox row\(s\) processed before /);
  }, 60_000);
});
