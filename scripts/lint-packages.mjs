// Packaging lint: every package under packages/ must be publishable as it stands.
// publint checks the exports/types/files wiring against the built dist; the rules below check
// this project's own conventions. Exits non-zero with one line per problem.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { publint } from 'publint';

const DRIVERS = [
  'pg',
  'mysql2',
  'better-sqlite3',
  'sqlite3',
  'rabbitmq-client',
  '@prisma/client',
  'sequelize',
  '@mikro-orm/core',
  'drizzle-orm',
  'kysely',
  'typeorm',
  'knex',
];
// The relay binary is an application: it ships its drivers as ordinary dependencies.
const APPLICATIONS = new Set(['@outboxkit/relay']);

const problems = [];
const root = new URL('../packages/', import.meta.url).pathname;
for (const dir of readdirSync(root)) {
  const pkgDir = join(root, dir);
  const manifestPath = join(pkgDir, 'package.json');
  if (!existsSync(manifestPath)) continue;
  const pkg = JSON.parse(readFileSync(manifestPath, 'utf8'));
  const say = (message) => problems.push(`${pkg.name ?? dir}: ${message}`);

  if (pkg.name !== `@outboxkit/${dir}`) say(`name must be @outboxkit/${dir}`);
  if (pkg.type !== 'module') say('must be ESM ("type": "module")');
  if (!pkg.license) say('needs a license');
  if (!pkg.files?.includes('dist')) say('"files" must include dist');
  if (!existsSync(join(pkgDir, 'README.md'))) say('needs a README.md');
  const main = pkg.exports?.['.'];
  if (!main?.types || !main?.default) say('exports["."] needs "types" and "default"');
  else {
    if (!existsSync(join(pkgDir, main.types))) say(`exports types ${main.types} missing (run pnpm build)`);
    if (!existsSync(join(pkgDir, main.default))) say(`exports default ${main.default} missing (run pnpm build)`);
  }
  for (const [name, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    if (!/^(workspace:\^|\d+\.\d+\.\d+)$/.test(range)) say(`${name}@${range}: pin an exact version (or workspace:^)`);
  }
  if (!APPLICATIONS.has(pkg.name)) {
    for (const driver of DRIVERS) {
      if (pkg.dependencies?.[driver]) say(`${driver} must be a peer dependency, not a dependency`);
    }
  }
  for (const bin of Object.values(pkg.bin ?? {})) {
    if (!existsSync(join(pkgDir, bin))) say(`bin ${bin} missing (run pnpm build)`);
    else if (!readFileSync(join(pkgDir, bin), 'utf8').startsWith('#!/usr/bin/env node')) say(`bin ${bin} needs a node shebang`);
  }
  const { messages } = await publint({ pkgDir, level: 'warning', strict: true });
  for (const message of messages) say(`publint ${message.type} ${message.code} ${JSON.stringify(message.args)}`);
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`\npackaging lint: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log('packaging lint: all packages publishable');
