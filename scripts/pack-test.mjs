// The newcomer test (`pnpm test:pack`, issue 19): what a new user gets from the registry.
// Packs every publishable package with `pnpm pack` (which rewrites workspace: ranges), installs
// the tarballs into fresh apps outside the monorepo with plain `npm install`, and sends a first
// event end to end through `npx outbox-relay` on PostgreSQL and RabbitMQ:
//   - app "raw-pg": pg + @outboxkit/postgres enqueue();
//   - app "drizzle": drizzle-orm on node-postgres + @outboxkit/drizzle outbox(tx).add().
// Each app: one copy of every driver and native build, none of the other databases' or brokers'
// packages, no peer-dependency warnings from npm, its TypeScript compiles against the published
// types, `outbox-relay migrate`, a write in a transaction, `outbox-relay run --once`, and the
// inbox consumer of @outboxkit/rabbitmq receiving the event with its id. Ends with "N passed, N failed"; exits 1 on a failure.
// Needs `pnpm build` first (the script `pnpm test:pack` does it). KEEP_PACK_TEST=1 keeps the
// temp directory for a look at the apps.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Connection } from 'rabbitmq-client';

const root = new URL('..', import.meta.url).pathname;
const POSTGRES_URL = process.env.OUTBOX_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RABBITMQ_URL = process.env.OUTBOX_TEST_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const COMMAND_TIMEOUT_MS = 120_000;
const INSTALL_TIMEOUT_MS = 600_000;
// What a PostgreSQL + RabbitMQ app must not get: the other databases' and brokers' packages.
const OTHER_DATABASES_AND_BROKERS = [
  '@outboxkit/mysql',
  'mysql2',
  '@outboxkit/sqlite',
  'better-sqlite3',
  'sqlite3',
  '@outboxkit/nats',
  '@nats-io/jetstream',
  '@nats-io/transport-node',
  '@outboxkit/redis',
  'redis',
];
// Packages of which a second copy would mean a second driver (or a second outboxkit) in the app.
const SINGLE_COPY = ['pg', 'pg-native', 'mysql2', 'better-sqlite3', 'sqlite3', 'rabbitmq-client', 'redis', 'drizzle-orm'];
// The event the apps write and their consumers bind to (the routing key is the event type).
const EVENT_TYPE = 'order.placed';

const work = mkdtempSync(join(tmpdir(), 'outboxkit-pack-test-'));
const runId = randomBytes(4).toString('hex');
const results = [];
const cleanups = [];

function record(name, ok, detail = '') {
  results.push({ name, ok });
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? `: ${detail}` : ''}`);
}

/**
 * Runs a check. A failed step makes the app's later checks fail as "not run"; a failed
 * `{ step: false }` check (what the install contains) lets the rest run.
 */
async function check(app, name, fn, { step = true } = {}) {
  const label = `${app.name}: ${name}`;
  if (app.broken) return record(label, false, `not run (${app.broken} failed)`);
  try {
    const detail = await fn();
    record(label, true, typeof detail === 'string' ? detail : '');
  } catch (error) {
    if (step) app.broken = name;
    record(label, false, error instanceof Error ? error.message : String(error));
  }
}

function assert(condition, message) {
  if (!condition) throw new Error(message);
}

/** Runs a command to completion: { code, stdout, stderr, output }. */
function run(command, args, { cwd, env = {}, timeoutMs = COMMAND_TIMEOUT_MS } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let output = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      output += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal === 'SIGKILL' ? `killed after ${timeoutMs} ms` : code, stdout, stderr, output });
    });
  });
}

const tail = (text, lines = 15) => text.trim().split('\n').slice(-lines).join('\n');

function expectExit(result, code, what) {
  assert(result.code === code, `${what} exited ${result.code}, expected ${code}:\n${tail(result.output)}`);
}

/** The exact versions the monorepo tests with, so the apps install what was tested. */
function pinnedVersion(name) {
  for (const manifest of ['package.json', 'packages/drizzle/package.json']) {
    const version = JSON.parse(readFileSync(join(root, manifest), 'utf8')).devDependencies?.[name];
    if (version) return version;
  }
  throw new Error(`no pinned version of ${name} in the monorepo`);
}

/** `pnpm pack` of every publishable package: package name → tarball path. */
function packAll() {
  const destination = join(work, 'tarballs');
  const tarballs = new Map();
  for (const dir of readdirSync(join(root, 'packages'))) {
    const pkgDir = join(root, 'packages', dir);
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
    if (manifest.private) continue;
    const result = spawnSync('pnpm', ['pack', '--pack-destination', destination, '--json'], { cwd: pkgDir, encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`pnpm pack failed in packages/${dir}: ${result.stderr}`);
    const { filename } = JSON.parse(result.stdout);
    const packed = spawnSync('tar', ['-xOzf', filename, 'package/package.json'], { encoding: 'utf8' });
    if (packed.stdout.includes('workspace:')) throw new Error(`${manifest.name}: the tarball still has a workspace: range`);
    tarballs.set(manifest.name, filename);
  }
  return tarballs;
}

/** Every installed package under node_modules (nested ones too): name → [{ path, version, native }]. */
function installedPackages(appDir) {
  const found = new Map();
  const visit = (modulesDir) => {
    if (!existsSync(modulesDir)) return;
    for (const entry of readdirSync(modulesDir)) {
      if (entry.startsWith('.')) continue;
      const dirs = entry.startsWith('@') ? readdirSync(join(modulesDir, entry)).map((name) => join(modulesDir, entry, name)) : [join(modulesDir, entry)];
      for (const dir of dirs) {
        const manifestPath = join(dir, 'package.json');
        if (!existsSync(manifestPath)) continue;
        const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
        const native = existsSync(join(dir, 'binding.gyp')) || manifest.gypfile === true;
        if (!found.has(manifest.name)) found.set(manifest.name, []);
        found.get(manifest.name).push({ path: dir, version: manifest.version, native });
        visit(join(dir, 'node_modules'));
      }
    }
  };
  visit(join(appDir, 'node_modules'));
  return found;
}

function directorySize(dir) {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += directorySize(path);
    else if (entry.isFile()) bytes += statSync(path).size;
  }
  return bytes;
}

/** Installs the app the way the docs say, with plain npm, and checks what npm made of it. */
async function install(app, tarballs) {
  const appDir = join(work, app.name);
  mkdirSync(appDir);
  // Not on the registry yet: the outboxkit packages the app does not install itself resolve to
  // their tarballs, as they would to the registry, and npm installs only those the graph needs.
  const overrides = Object.fromEntries([...tarballs].filter(([name]) => !app.packages.includes(name)).map(([name, file]) => [name, `file:${file}`]));
  const manifest = { name: `pack-test-${app.name}`, version: '1.0.0', private: true, type: 'module', overrides };
  writeFileSync(join(appDir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const [file, text] of Object.entries({ ...app.files, 'tsconfig.json': tsconfig(app) })) writeFileSync(join(appDir, file), text);
  app.dir = appDir;

  await check(app, 'npm install', async () => {
    const specs = [...app.packages.map((name) => tarballs.get(name)), ...app.thirdParty.map((name) => `${name}@${pinnedVersion(name)}`)];
    const started = Date.now();
    const result = await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...specs], {
      cwd: appDir,
      env: { npm_config_nodedir: process.env.npm_config_nodedir ?? '/usr', npm_config_loglevel: 'warn' },
      timeoutMs: INSTALL_TIMEOUT_MS,
    });
    expectExit(result, 0, 'npm install');
    app.installOutput = result.output;
    return `${((Date.now() - started) / 1000).toFixed(1)} s`;
  });

  await check(
    app,
    'no peer-dependency warnings from npm',
    () => {
      const warnings = app.installOutput.split('\n').filter((line) => /peer|ERESOLVE|conflict/i.test(line));
      assert(warnings.length === 0, `npm said:\n${warnings.join('\n')}`);
    },
    { step: false },
  );

  await check(
    app,
    'one copy of each driver and native build',
    () => {
      const packages = installedPackages(appDir);
      const duplicated = [...packages].filter(
        ([name, copies]) => copies.length > 1 && (SINGLE_COPY.includes(name) || name.startsWith('@outboxkit/') || copies.some((copy) => copy.native)),
      );
      assert(
        duplicated.length === 0,
        duplicated.map(([name, copies]) => `${name}: ${copies.map((copy) => `${copy.version} at ${copy.path}`).join(', ')}`).join('; '),
      );
      const ls = spawnSync('npm', ['ls', '--all', '--json'], { cwd: appDir, encoding: 'utf8' });
      const problems = JSON.parse(ls.stdout || '{}').problems ?? [];
      assert(problems.length === 0, `npm ls: ${problems.join('; ')}`);
      const native = [...packages].filter(([, copies]) => copies.some((copy) => copy.native)).map(([name]) => name);
      // The footprint at run time: without the compiler and the type packages the apps add.
      const tooling = [...packages].filter(([name]) => name === 'typescript' || name.startsWith('@types/'));
      const toolingBytes = tooling.flatMap(([, copies]) => copies).reduce((sum, copy) => sum + directorySize(copy.path), 0);
      const megabytes = ((directorySize(join(appDir, 'node_modules')) - toolingBytes) / 1e6).toFixed(1);
      return `${packages.size - tooling.length} packages, ${megabytes} MB in node_modules besides typescript and @types, native builds: ${native.join(', ') || 'none'}`;
    },
    { step: false },
  );

  await check(
    app,
    'none of the other databases or brokers installed',
    () => {
      const packages = installedPackages(appDir);
      const unwanted = OTHER_DATABASES_AND_BROKERS.filter((name) => packages.has(name));
      assert(unwanted.length === 0, `installed although nothing asked for them: ${unwanted.join(', ')}`);
    },
    { step: false },
  );

  await check(app, `npx tsc: the app type-checks against the published types${app.skipLibCheck ? '' : ' (skipLibCheck off)'}`, async () => {
    expectExit(await run('npx', ['--no-install', 'tsc', '-p', '.'], { cwd: appDir }), 0, 'tsc');
  });
}

const npx = (app, args, env) => run('npx', ['--no-install', 'outbox-relay', ...args], { cwd: app.dir, env });

/** The first event: migrate, consumer up, write, run --once, the consumer has it. */
async function firstEvent(app) {
  const names = {
    schema: `packtest_${app.name.replace(/\W/g, '_')}_${runId}`,
    exchange: `packtest.${app.name}.${runId}`,
    queue: `packtest.${app.name}.${runId}`,
  };
  const env = { DATABASE_URL: POSTGRES_URL, AMQP_URL: RABBITMQ_URL, OUTBOX_SCHEMA: names.schema, EXCHANGE: names.exchange, QUEUE: names.queue };
  cleanups.push(
    () => dropSchema(names.schema),
    () => deleteTopology(names),
  );

  await check(app, 'npx outbox-relay migrate', async () => {
    expectExit(await npx(app, ['migrate', '--database-url', POSTGRES_URL, '--schema', names.schema]), 0, 'outbox-relay migrate');
  });

  let consumer;
  await check(app, 'inbox consumer ready before the relay ever ran', async () => {
    consumer = startNode(app.dir, 'consumer.mjs', env);
    await consumer.line((line) => line === 'ready', 'the consumer to say ready');
  });

  let written;
  await check(app, 'event written in a transaction', async () => {
    const result = await run(process.execPath, ['write.mjs'], { cwd: app.dir, env });
    expectExit(result, 0, 'write.mjs');
    written = JSON.parse(result.stdout.trim().split('\n').at(-1));
    assert(typeof written.id === 'string' && written.id.length > 0, `write.mjs printed no event id: ${result.stdout}`);
  });

  await check(app, 'npx outbox-relay run --once publishes it', async () => {
    const result = await npx(app, [
      'run',
      '--once',
      '--database-url',
      POSTGRES_URL,
      '--schema',
      names.schema,
      '--broker-url',
      RABBITMQ_URL,
      '--exchange',
      names.exchange,
    ]);
    expectExit(result, 0, 'outbox-relay run --once');
  });

  await check(app, 'the consumer received the event with its id', async () => {
    const line = await consumer.line((text) => text.startsWith('{'), 'the consumer to print the event');
    const received = JSON.parse(line);
    assert(received.id === written.id, `received ${received.id}, written ${written.id}`);
    assert(received.type === EVENT_TYPE, `received type ${received.type}, expected ${EVENT_TYPE}`);
    assert(received.processed === 1, `the consumer's stats say ${received.processed} processed, expected 1`);
    const exit = await consumer.exited;
    assert(exit === 0, `consumer exited ${exit}:\n${tail(consumer.output())}`);
    return received.id;
  });
  consumer?.kill();
}

/** A long-running `node <file>` in the app, with a way to wait for one of its stdout lines. */
function startNode(cwd, file, env) {
  const child = spawn(process.execPath, [file], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const lines = [];
  const waiters = new Set();
  child.stderr.on('data', (chunk) => {
    output += chunk;
  });
  child.stdout.on('data', (chunk) => {
    output += chunk;
    lines.push(...String(chunk).split('\n').filter(Boolean));
    for (const waiter of waiters) waiter();
  });
  const exited = new Promise((resolve) =>
    child.on('close', (code) => {
      resolve(code);
      for (const waiter of waiters) waiter();
    }),
  );
  return {
    exited,
    output: () => output,
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
    line(match, what) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`timed out waiting for ${what}:\n${tail(output)}`)), COMMAND_TIMEOUT_MS);
        const done = (error, line) => {
          clearTimeout(timer);
          waiters.delete(probe);
          if (error) reject(error);
          else resolve(line);
        };
        const probe = () => {
          const found = lines.find(match);
          if (found !== undefined) return done(null, found);
          if (child.exitCode !== null) done(new Error(`exited ${child.exitCode} before ${what}:\n${tail(output)}`));
        };
        waiters.add(probe);
        probe();
      });
    },
  };
}

/** The relay as a package: its version, and what it says about a database or broker package the app lacks. */
async function relayChecks(app) {
  const { version } = JSON.parse(readFileSync(join(root, 'packages/relay/package.json'), 'utf8'));
  await check(app, 'npx outbox-relay --version', async () => {
    const result = await npx(app, ['--version']);
    expectExit(result, 0, 'outbox-relay --version');
    assert(result.stdout.trim() === version, `printed "${result.stdout.trim()}", expected ${version}`);
  });
  await check(app, 'a mysql:// URL without @outboxkit/mysql says what to install', async () => {
    const result = await npx(app, ['status', '--database-url', 'mysql://root@127.0.0.1:3306/test']);
    expectExit(result, 2, 'outbox-relay status');
    assert(result.stderr.includes('--database-url') && result.stderr.includes('npm install @outboxkit/mysql mysql2'), `stderr: ${tail(result.stderr)}`);
  });
  await check(app, 'a redis:// broker without @outboxkit/redis says what to install', async () => {
    const result = await npx(app, ['run', '--once', '--database-url', POSTGRES_URL, '--broker-url', 'redis://127.0.0.1:6379']);
    expectExit(result, 2, 'outbox-relay run');
    assert(result.stderr.includes('--broker-url') && result.stderr.includes('npm install @outboxkit/redis redis'), `stderr: ${tail(result.stderr)}`);
  });
}

async function dropSchema(schema) {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/** The consumer's queue and dead-letter topology and the relay's exchange. */
async function deleteTopology({ exchange, queue }) {
  const connection = new Connection({ url: RABBITMQ_URL, retryLow: 100, retryHigh: 200, connectionTimeout: 5000 });
  try {
    await connection.onConnect(5000, true);
    for (const name of [queue, `${queue}.dead`]) await connection.queueDelete({ queue: name });
    for (const name of [exchange, `${queue}.dlx`]) await connection.exchangeDelete({ exchange: name });
  } finally {
    await connection.close();
  }
}

// The apps: what a user installs, and their code, taken from README.md and docs/drizzle.md. They
// are TypeScript, type-checked strictly and compiled to .mjs next to the sources. raw-pg checks
// every .d.ts (skipLibCheck off: ours must resolve from the tarballs alone); drizzle-orm 0.45's
// own sqlite-core declarations do not type-check, so the drizzle app skips library checks, as
// Drizzle users do.
const TYPESCRIPT = ['typescript', '@types/node', '@types/pg'];
const tsconfig = ({ skipLibCheck }) =>
  `${JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'nodenext', strict: true, skipLibCheck, types: ['node'] }, include: ['*.mts'] }, null, 2)}\n`;
const envFile = `/** A variable the pack test sets; refuses to run without it. */
export function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(\`\${name} is not set\`);
  return value;
}
`;
const consumerFile = `import { createPgPool, createPostgresDialect, pgDatabase } from '@outboxkit/postgres';
import { createInboxConsumer } from '@outboxkit/rabbitmq';
import { env } from './env.mjs';

interface Received { readonly id: string; readonly type: string }
const pool = createPgPool(env('DATABASE_URL'));
let processed!: (event: Received) => void;
const done = new Promise<Received>((resolve) => (processed = resolve));
const consumer = createInboxConsumer({
  connection: env('AMQP_URL'),
  queue: env('QUEUE'),
  bindings: [{ exchange: env('EXCHANGE'), routingKey: 'order.placed' }],
  consumer: 'pack-test',
  db: pgDatabase(pool),
  dialect: createPostgresDialect({ tables: { schema: env('OUTBOX_SCHEMA') } }),
  handler: async (event) => processed(event),
});
await consumer.ready();
console.log('ready');
const event = await done;
await consumer.close();
await pool.end();
console.log(JSON.stringify({ id: event.id, type: event.type, processed: consumer.stats().processed }));
`;

const APPS = [
  {
    name: 'raw-pg',
    packages: ['@outboxkit/relay', '@outboxkit/postgres', '@outboxkit/rabbitmq'],
    thirdParty: ['pg', 'rabbitmq-client', ...TYPESCRIPT],
    relayChecks: true,
    skipLibCheck: false,
    files: {
      'env.mts': envFile,
      'consumer.mts': consumerFile,
      'write.mts': `import pg from 'pg';
import { enqueue, createPostgresDialect } from '@outboxkit/postgres';
import { env } from './env.mjs';

const dialect = createPostgresDialect({ tables: { schema: env('OUTBOX_SCHEMA') } });
const pool = new pg.Pool({ connectionString: env('DATABASE_URL') });
const client = await pool.connect();
try {
  await client.query('BEGIN');
  const [event] = await enqueue(client, { aggregateType: 'order', aggregateId: 'o-42', type: 'order.placed', payload: { orderId: 'o-42', total: 99 } }, { dialect });
  await client.query('COMMIT');
  console.log(JSON.stringify({ id: event?.id }));
} catch (error) {
  await client.query('ROLLBACK');
  throw error;
} finally {
  client.release();
  await pool.end();
}
`,
    },
  },
  {
    name: 'drizzle',
    packages: ['@outboxkit/relay', '@outboxkit/postgres', '@outboxkit/drizzle', '@outboxkit/rabbitmq'],
    thirdParty: ['drizzle-orm', 'pg', 'rabbitmq-client', ...TYPESCRIPT],
    skipLibCheck: true,
    files: {
      'env.mts': envFile,
      'consumer.mts': consumerFile,
      'write.mts': `import { drizzle } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import { createPostgresDialect } from '@outboxkit/postgres';
import { drizzleOutbox } from '@outboxkit/drizzle';
import { env } from './env.mjs';

const pool = new pg.Pool({ connectionString: env('DATABASE_URL') });
const db = drizzle({ client: pool });
const outbox = await drizzleOutbox(db, { dialect: createPostgresDialect({ tables: { schema: env('OUTBOX_SCHEMA') } }) });
const [event] = await db.transaction(async (tx) =>
  outbox(tx).add({ aggregateType: 'order', aggregateId: 'A-1001', type: 'order.placed', payload: { orderId: 'A-1001', total: 42 } }),
);
await pool.end();
console.log(JSON.stringify({ id: event?.id }));
`,
    },
  },
];

let exitCode = 0;
try {
  console.log(`pack test in ${work}`);
  const tarballs = packAll();
  record(`pnpm pack: ${tarballs.size} packages, no workspace: ranges left`, true);
  for (const app of APPS) {
    await install(app, tarballs);
    if (app.relayChecks) await relayChecks(app);
    await firstEvent(app);
  }
} catch (error) {
  record('pack test', false, error instanceof Error ? error.stack : String(error));
} finally {
  for (const cleanup of cleanups) {
    try {
      await cleanup();
    } catch (error) {
      record('cleanup', false, error instanceof Error ? error.message : String(error));
    }
  }
  if (process.env.KEEP_PACK_TEST) console.log(`kept ${work}`);
  else rmSync(work, { recursive: true, force: true });
  const failed = results.filter((result) => !result.ok).length;
  if (failed > 0) exitCode = 1;
  console.log(`\n${results.length - failed} passed, ${failed} failed`);
}
process.exit(exitCode);
