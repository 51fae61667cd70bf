#!/usr/bin/env node
// Generates the Prisma clients the tests use (one per provider, from test/schemas/*.prisma) into
// test/generated/<provider>, offline. Skips a client whose schema and Prisma version are unchanged,
// so every test file can call it. Safe when several test workers call it at once: each generates
// into a private folder and renames it into place; a loser of that race uses the winner's copy.
//
//   node packages/prisma/scripts/generate-test-clients.mjs    (run before `tsc -p tsconfig.test.json`)
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemasDir = join(packageDir, 'test', 'schemas');
const generatedDir = join(packageDir, 'test', 'generated');
export const TEST_PROVIDERS = Object.freeze(['postgresql', 'mysql', 'sqlite']);
const MARKER = '.outboxkit-schema-hash';

const require = createRequire(join(packageDir, 'package.json'));
const prismaCli = require.resolve('prisma/build/index.js');
const prismaVersion = JSON.parse(readFileSync(require.resolve('prisma/package.json'), 'utf8')).version;

/** Generates every missing or stale test client. Resolves when all are in place. */
export async function generateTestClients() {
  mkdirSync(generatedDir, { recursive: true });
  await Promise.all(TEST_PROVIDERS.map(generateOne));
}

async function generateOne(provider) {
  const target = join(generatedDir, provider);
  const schema = readFileSync(join(schemasDir, `${provider}.prisma`), 'utf8');
  const hash = createHash('sha256').update(prismaVersion).update(schema).digest('hex');
  if (readMarker(target) === hash) return;

  const scratch = join(generatedDir, `.tmp-${provider}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const scratchSchema = join(scratch, 'schema.prisma');
  mkdirSync(scratch, { recursive: true });
  try {
    // The schema's `output` is relative to the schema file: point it at the private folder.
    writeFileSync(scratchSchema, schema.replace(/output\s*=\s*"[^"]*"/, 'output = "./client"'));
    await runPrismaGenerate(scratchSchema);
    writeFileSync(join(scratch, 'client', MARKER), hash);
    if (readMarker(target) === hash) return; // another worker finished first
    rmSync(target, { recursive: true, force: true });
    try {
      renameSync(join(scratch, 'client'), target);
    } catch (error) {
      if (readMarker(target) !== hash) throw error;
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function readMarker(dir) {
  const file = join(dir, MARKER);
  return existsSync(file) ? readFileSync(file, 'utf8') : undefined;
}

function runPrismaGenerate(schemaPath) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [prismaCli, 'generate', '--schema', schemaPath], {
      cwd: packageDir,
      env: {
        ...process.env,
        // `generate` only needs the engine's path to exist; it never runs it. The real binary
        // would be downloaded, which cannot happen offline (Prisma's install scripts are denied).
        PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? '/bin/true',
        CHECKPOINT_DISABLE: '1',
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`prisma generate --schema ${schemaPath} exited with ${code}:\n${output}`));
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  generateTestClients().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
