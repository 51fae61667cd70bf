// What the report states about the machine and the software it measured.
import os from 'node:os';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { execFileSync } from 'node:child_process';
import { createMysqlPool } from '@outboxkit/mysql';
import { connect as natsConnect } from '@nats-io/transport-node';
import { createClient } from 'redis';

const require = createRequire(import.meta.url);

function packageVersion(name) {
  try {
    return require(`${name}/package.json`).version;
  } catch {
    return 'unknown';
  }
}

export async function describeMachine(urls) {
  const cpus = os.cpus();
  const versions = { node: process.version };
  for (const name of [
    '@outboxkit/core',
    'pg',
    'mysql2',
    'better-sqlite3',
    'rabbitmq-client',
    '@nats-io/jetstream',
    '@nats-io/transport-node',
    'redis',
    'hdr-histogram-js',
    'pg-transactional-outbox',
    '@aws-sdk/client-sqs',
    '@aws-sdk/client-sns',
    '@google-cloud/pubsub',
  ])
    versions[name] = packageVersion(name);
  // The emulators the cloud brokers run on (lib/brokers/index.mjs, EMULATORS).
  versions.fauxqs = await query(async () => testkitDependencyVersion('fauxqs'));
  versions.postgres = await query(async () => {
    const client = new pg.Client({ connectionString: urls.postgres });
    await client.connect();
    try {
      return (await client.query('SHOW server_version')).rows[0].server_version;
    } finally {
      await client.end();
    }
  });
  versions.mariadb = await query(async () => {
    const pool = createMysqlPool(urls.mysql, { connectionLimit: 1 });
    try {
      const [rows] = await pool.query('SELECT VERSION() AS v');
      return rows[0].v;
    } finally {
      await pool.end();
    }
  });
  versions.sqlite = await query(async () => {
    const Database = require('better-sqlite3');
    const db = new Database(':memory:');
    try {
      return db.prepare('SELECT sqlite_version() AS v').get().v;
    } finally {
      db.close();
    }
  });
  // AMQP clients are not told the server version; the Debian package knows it.
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format placeholder, not a template
  const versionFormat = '-f=${Version}';
  versions.rabbitmq = await query(async () => execFileSync('dpkg-query', ['-W', versionFormat, 'rabbitmq-server'], { encoding: 'utf8', timeout: 5000 }).trim());
  versions['pubsub-emulator'] = await query(async () =>
    execFileSync('dpkg-query', ['-W', versionFormat, 'google-cloud-cli-pubsub-emulator'], { encoding: 'utf8', timeout: 5000 }).trim(),
  );
  versions['nats-server'] = await query(async () => {
    const nc = await natsConnect({ servers: urls.nats.replace(/^nats:\/\//, '') });
    try {
      return nc.info?.version ?? 'unknown';
    } finally {
      await nc.close();
    }
  });
  versions['redis-server'] = await query(async () => {
    const client = createClient({ url: urls.redis });
    client.on('error', () => {});
    await client.connect();
    try {
      return /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? 'unknown';
    } finally {
      client.destroy();
    }
  });
  return {
    host: os.hostname(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    loadAverage: os.loadavg().map((n) => Math.round(n * 100) / 100),
    versions,
  };
}

/**
 * The version of a package @outboxkit/testkit depends on (fauxqs: its exports hide package.json,
 * so it is read from the node_modules directories above testkit, as Node would find the package).
 */
function testkitDependencyVersion(name) {
  for (let dir = dirname(fileURLToPath(import.meta.resolve('@outboxkit/testkit'))); dir !== dirname(dir); dir = dirname(dir)) {
    const manifest = join(dir, 'node_modules', name, 'package.json');
    if (existsSync(manifest)) return JSON.parse(readFileSync(manifest, 'utf8')).version;
  }
  throw new Error(`${name} is not installed next to @outboxkit/testkit`);
}

async function query(fn) {
  try {
    return await fn();
  } catch (error) {
    return `unknown (${error.message})`;
  }
}
