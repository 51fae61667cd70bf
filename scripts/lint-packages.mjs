// Packaging lint: every package under packages/ must be publishable as it stands.
// publint checks the exports/types/files wiring against the built dist; the rules below check
// this project's own conventions, and what `pnpm pack` would put in the tarball.
// Usage: node scripts/lint-packages.mjs [package dir...]   (default: every dir under packages/)
// Exits non-zero with one line per problem. test/lint-packages.test.ts runs it on broken packages.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { publint } from 'publint';

const REPO = 'https://github.com/outboxkit/outboxkit';
const DRIVERS = [
  'pg',
  'mysql2',
  'better-sqlite3',
  'sqlite3',
  'rabbitmq-client',
  'redis',
  '@nats-io/jetstream',
  '@nats-io/transport-node',
  '@prisma/client',
  'sequelize',
  '@mikro-orm/core',
  'drizzle-orm',
  'kysely',
  'typeorm',
  'knex',
];
const rootDir = new URL('..', import.meta.url).pathname;
const license = readFileSync(join(rootDir, 'LICENSE'), 'utf8');

const args = process.argv.slice(2);
const packagesDir = join(rootDir, 'packages');
const dirs = args.length > 0 ? args.map((dir) => resolve(dir)) : readdirSync(packagesDir).map((dir) => join(packagesDir, dir));

const problems = [];
const manifests = [];
for (const pkgDir of dirs) {
  const manifestPath = join(pkgDir, 'package.json');
  if (existsSync(manifestPath)) manifests.push({ pkgDir, pkg: JSON.parse(readFileSync(manifestPath, 'utf8')) });
}
const peerRanges = collectPeerRanges(manifests);

for (const { pkgDir, pkg } of manifests) {
  const dir = basename(pkgDir);
  const say = (message) => problems.push(`${pkg.name ?? dir}: ${message}`);

  if (pkg.name !== `@outboxkit/${dir}`) say(`name must be @outboxkit/${dir}`);
  if (pkg.type !== 'module') say('must be ESM ("type": "module")');
  if (!pkg.license) say('needs a license');
  checkLinks(pkg, dir, say);
  if (!pkg.files?.includes('dist')) say('"files" must include dist');
  if (!pkg.files?.includes('LICENSE')) say('"files" must include LICENSE');
  if (!existsSync(join(pkgDir, 'LICENSE'))) say('needs a LICENSE (a copy of the repository root LICENSE)');
  else if (readFileSync(join(pkgDir, 'LICENSE'), 'utf8') !== license) say('LICENSE differs from the repository root LICENSE');
  if (!existsSync(join(pkgDir, 'README.md'))) say('needs a README.md');
  else checkReadme(readFileSync(join(pkgDir, 'README.md'), 'utf8'), say);
  const main = pkg.exports?.['.'];
  if (!main?.types || !main?.default) say('exports["."] needs "types" and "default"');
  else {
    if (!existsSync(join(pkgDir, main.types))) say(`exports types ${main.types} missing (run pnpm build)`);
    if (!existsSync(join(pkgDir, main.default))) say(`exports default ${main.default} missing (run pnpm build)`);
  }
  for (const [name, range] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
    if (!/^(workspace:\^|\d+\.\d+\.\d+)$/.test(range)) say(`${name}@${range}: pin an exact version (or workspace:^)`);
  }
  checkPeers(pkg, peerRanges, say);
  for (const driver of DRIVERS) {
    if (pkg.dependencies?.[driver]) say(`${driver} must be a peer dependency, not a dependency (the application brings its own)`);
  }
  if (pkg.name === '@outboxkit/relay') await checkRelayOptionalPeers(pkg, pkgDir, say);
  for (const bin of Object.values(pkg.bin ?? {})) {
    if (!existsSync(join(pkgDir, bin))) say(`bin ${bin} missing (run pnpm build)`);
    else if (!readFileSync(join(pkgDir, bin), 'utf8').startsWith('#!/usr/bin/env node')) say(`bin ${bin} needs a node shebang`);
  }
  checkTarball(pkgDir, say);
  const { messages } = await publint({ pkgDir, level: 'warning', strict: true });
  for (const message of messages) say(`publint ${message.type} ${message.code} ${JSON.stringify(message.args)}`);
}

/** The registry shows these; `repository.directory` points at the package inside the monorepo. */
function checkLinks(pkg, dir, say) {
  const { repository, homepage, bugs } = pkg;
  if (repository?.url !== `git+${REPO}.git` || repository?.directory !== `packages/${dir}`) {
    say(`"repository" must be { "type": "git", "url": "git+${REPO}.git", "directory": "packages/${dir}" }`);
  }
  if (typeof homepage !== 'string' || !homepage.startsWith(`${REPO}/`)) say(`"homepage" must be a page under ${REPO}`);
  if (bugs?.url !== `${REPO}/issues`) say(`"bugs" must be { "url": "${REPO}/issues" }`);
}

/**
 * The registry renders the README without the repository around it: a relative link such as
 * `../../docs/x.md` is broken there. Links must be absolute (https) or in-page anchors.
 */
function checkReadme(text, say) {
  const prose = text.replace(/^```[\s\S]*?^```/gm, (block) => block.replace(/[^\n]/g, ''));
  const targets = [
    ...[...prose.matchAll(/\]\(\s*<?([^)\s>]+)/g)].map((m) => [m[1], m.index]),
    ...[...prose.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(\s|$)/gm)].map((m) => [m[1], m.index]),
    ...[...prose.matchAll(/\b(?:href|src)=["']([^"']+)["']/g)].map((m) => [m[1], m.index]),
  ];
  for (const [target, index] of targets) {
    if (/^(https:\/\/|mailto:|#)/.test(target)) continue;
    const line = prose.slice(0, index).split('\n').length;
    say(`README.md:${line}: link "${target}" is not an absolute https:// link, so it breaks on the registry; use ${REPO}/blob/main/...`);
  }
}

/** Each peer name → the ranges the packages declare for it, so they can be compared. */
function collectPeerRanges(list) {
  const ranges = new Map();
  for (const { pkg } of list) {
    for (const [name, range] of Object.entries(pkg.peerDependencies ?? {})) {
      if (!ranges.has(name)) ranges.set(name, new Map());
      ranges.get(name).set(pkg.name, range);
    }
  }
  return ranges;
}

/**
 * A peer is a range the application's own copy must fall in: an exact pin would make npm install
 * a second copy (a second native build for better-sqlite3), and two packages asking different
 * ranges for one driver can conflict. Optional markers must name declared peers.
 */
function checkPeers(pkg, ranges, say) {
  for (const [name, range] of Object.entries(pkg.peerDependencies ?? {})) {
    if (/^\d+\.\d+\.\d+$/.test(range)) say(`peer ${name}@${range}: use a range (^${range}) so it dedupes with the application's own`);
    const others = [...ranges.get(name)].filter(([owner, other]) => owner !== pkg.name && other !== range);
    if (others.length > 0) say(`peer ${name}@${range} disagrees with ${others.map(([owner, other]) => `${owner} (${other})`).join(', ')}; use one range`);
  }
  for (const [name, version] of Object.entries(pkg.devDependencies ?? {})) {
    const range = pkg.peerDependencies?.[name];
    if (range && satisfies(version, range) === false)
      say(`devDependency ${name}@${version} is outside its peer range ${range}: the tests would run a version users cannot get`);
  }
  for (const name of Object.keys(pkg.peerDependenciesMeta ?? {})) {
    if (!pkg.peerDependencies?.[name]) say(`peerDependenciesMeta names ${name}, which is not a peer dependency`);
  }
}

/** Whether an exact version is in a `^x.y.z` or `>=x[.y.z]` range; undefined for other forms (workspace:). */
function satisfies(version, range) {
  const parse = (text) => text.split('.').map(Number).concat([0, 0]).slice(0, 3);
  const compare = (a, b) => a.map((part, i) => part - b[i]).find((diff) => diff !== 0) ?? 0;
  const exact = /^\d+\.\d+\.\d+$/.test(version) ? parse(version) : undefined;
  const caret = /^\^(\d+\.\d+\.\d+)$/.exec(range);
  const atLeast = /^>=\s*(\d+(?:\.\d+){0,2})$/.exec(range);
  if (!exact || (!caret && !atLeast)) return undefined;
  const low = parse((caret ?? atLeast)[1]);
  if (compare(exact, low) < 0) return false;
  if (atLeast) return true;
  // ^1.2.3 := >=1.2.3 <2.0.0; ^0.2.3 := >=0.2.3 <0.3.0
  return low[0] > 0 ? exact[0] === low[0] : exact[0] === 0 && exact[1] === low[1];
}

/**
 * The relay imports the packages of one database and one broker, chosen by URL scheme
 * (dist/optional-packages.js). Each must be an optional peer: an application installs only its
 * own, and npm must not install (or compile) the others.
 */
async function checkRelayOptionalPeers(pkg, pkgDir, say) {
  const modulePath = join(pkgDir, 'dist', 'optional-packages.js');
  if (!existsSync(modulePath)) return say('dist/optional-packages.js missing (run pnpm build)');
  const { OPTIONAL_PACKAGES } = await import(pathToFileURL(modulePath).href);
  for (const name of new Set(Object.values(OPTIONAL_PACKAGES).flat())) {
    if (pkg.dependencies?.[name]) say(`${name} is loaded by URL scheme: make it an optional peer, not a dependency`);
    if (!pkg.peerDependencies?.[name] || pkg.peerDependenciesMeta?.[name]?.optional !== true) {
      say(`${name} is loaded by URL scheme: declare it in peerDependencies and mark it optional in peerDependenciesMeta`);
    }
    if (!pkg.devDependencies?.[name]) say(`${name}: pin it in devDependencies for the relay's own tests`);
    for (const file of declarationsImporting(join(pkgDir, 'dist'), name)) {
      say(`dist/${file} imports the optional peer ${name}: an application without it cannot type-check against the relay (mark the export @internal)`);
    }
  }
}

/** The .d.ts files under `dir` (relative paths) with an import of package `name`. */
function declarationsImporting(dir, name) {
  const escaped = name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const pattern = new RegExp(`(from\\s+|import\\(\\s*)['"]${escaped}(/[^'"]*)?['"]`);
  return readdirSync(dir, { recursive: true }).filter((file) => file.endsWith('.d.ts') && pattern.test(readFileSync(join(dir, file), 'utf8')));
}

/** What `pnpm pack` (which `pnpm publish` uses) would put in the tarball. */
function checkTarball(pkgDir, say) {
  const result = spawnSync('pnpm', ['pack', '--dry-run', '--json'], { cwd: pkgDir, encoding: 'utf8' });
  if (result.status !== 0) return say(`pnpm pack --dry-run failed: ${result.stderr.trim() || result.error?.message}`);
  const files = JSON.parse(result.stdout).files.map((file) => file.path);
  for (const file of files.filter((path) => path.endsWith('.tsbuildinfo'))) say(`tarball contains ${file}: exclude it in "files" ("!${file}")`);
  for (const file of ['LICENSE', 'README.md', 'package.json']) {
    if (!files.includes(file)) say(`tarball lacks ${file}`);
  }
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error(`\npackaging lint: ${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`packaging lint: ${manifests.length} packages publishable`);
