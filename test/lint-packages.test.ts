import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// scripts/lint-packages.mjs, which `pnpm lint` runs over packages/*, on packages written here:
// one that follows every rule, and broken ones that must each be reported.
const root = fileURLToPath(new URL('..', import.meta.url));
const script = join(root, 'scripts', 'lint-packages.mjs');
const dir = mkdtempSync(join(tmpdir(), 'outboxkit-lint-selftest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const REPO = 'https://github.com/outboxkit/outboxkit';

interface Fixture {
  readonly manifest?: Record<string, unknown>;
  readonly readme?: string;
  readonly license?: boolean;
  readonly files?: Record<string, string>;
}

/** A built package under `dir/<name>`: dist with a .tsbuildinfo (as tsc -b leaves it), README, LICENSE. */
function fixture(name: string, { manifest = {}, readme, license = true, files = {} }: Fixture = {}): string {
  const pkgDir = join(dir, name);
  mkdirSync(join(pkgDir, 'dist'), { recursive: true });
  const pkg = {
    name: `@outboxkit/${name}`,
    version: '0.1.0',
    description: 'a fixture',
    license: 'MIT',
    repository: { type: 'git', url: `git+${REPO}.git`, directory: `packages/${name}` },
    homepage: `${REPO}/tree/main/packages/${name}#readme`,
    bugs: { url: `${REPO}/issues` },
    type: 'module',
    exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' }, './package.json': './package.json' },
    main: './dist/index.js',
    types: './dist/index.d.ts',
    files: ['dist', '!dist/.tsbuildinfo', 'README.md', 'LICENSE'],
    ...manifest,
  };
  writeFileSync(join(pkgDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(join(pkgDir, 'README.md'), readme ?? `# ${pkg.name}\n\nGuide: [docs/x.md](${REPO}/blob/main/docs/x.md), [below](#below).\n`);
  if (license) copyFileSync(join(root, 'LICENSE'), join(pkgDir, 'LICENSE'));
  const built = { 'dist/index.js': 'export const x = 1;\n', 'dist/index.d.ts': 'export declare const x = 1;\n', 'dist/.tsbuildinfo': '{}\n', ...files };
  for (const [path, text] of Object.entries(built)) writeFileSync(join(pkgDir, path), text);
  return pkgDir;
}

function lint(...pkgDirs: string[]) {
  const result = spawnSync(process.execPath, [script, ...pkgDirs], { encoding: 'utf8', cwd: dir });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('packaging lint', () => {
  it('accepts a package that follows every rule', () => {
    const result = lint(fixture('good', { manifest: { peerDependencies: { pg: '^8.11.0' }, peerDependenciesMeta: { pg: { optional: true } } } }));
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('packaging lint: 1 packages publishable');
    expect(result.code).toBe(0);
  });

  it('reports a missing LICENSE, registry links, a relative README link, a shipped .tsbuildinfo and an exact peer', () => {
    const pkgDir = fixture('broken', {
      license: false,
      manifest: { repository: undefined, homepage: undefined, bugs: undefined, files: ['dist', 'README.md'], peerDependencies: { pg: '8.23.1' } },
      readme: '# broken\n\nSee [the guide](../../docs/guide.md) and [ops].\n\n[ops]: ../../docs/operations.md\n\n```sh\n[not](a-link)\n```\n',
    });
    const good = fixture('good-peer', { manifest: { peerDependencies: { pg: '^8.11.0' } } });
    const { code, stderr } = lint(pkgDir, good);
    expect(code).toBe(1);
    const problems = stderr.split('\n').filter((line) => line.startsWith('@outboxkit/broken: '));
    expect(problems).toEqual(
      expect.arrayContaining([
        '@outboxkit/broken: "repository" must be { "type": "git", "url": "git+https://github.com/outboxkit/outboxkit.git", "directory": "packages/broken" }',
        '@outboxkit/broken: "homepage" must be a page under https://github.com/outboxkit/outboxkit',
        '@outboxkit/broken: "bugs" must be { "url": "https://github.com/outboxkit/outboxkit/issues" }',
        '@outboxkit/broken: "files" must include LICENSE',
        '@outboxkit/broken: needs a LICENSE (a copy of the repository root LICENSE)',
        '@outboxkit/broken: README.md:3: link "../../docs/guide.md" is not an absolute https:// link, so it breaks on the registry; use https://github.com/outboxkit/outboxkit/blob/main/...',
        '@outboxkit/broken: README.md:5: link "../../docs/operations.md" is not an absolute https:// link, so it breaks on the registry; use https://github.com/outboxkit/outboxkit/blob/main/...',
        "@outboxkit/broken: peer pg@8.23.1: use a range (^8.23.1) so it dedupes with the application's own",
        '@outboxkit/broken: peer pg@8.23.1 disagrees with @outboxkit/good-peer (^8.11.0); use one range',
        '@outboxkit/broken: tarball contains dist/.tsbuildinfo: exclude it in "files" ("!dist/.tsbuildinfo")',
        '@outboxkit/broken: tarball lacks LICENSE',
      ]),
    );
    // The link inside the fenced block is code, not a link.
    expect(stderr).not.toContain('a-link');
    expect(stderr.split('\n').filter((line) => line.startsWith('@outboxkit/good-peer: '))).toEqual([
      '@outboxkit/good-peer: peer pg@^8.11.0 disagrees with @outboxkit/broken (8.23.1); use one range',
    ]);
  });

  it('reports a devDependency the tests pin outside the peer range users get', () => {
    const pkgDir = fixture('outside-peer', {
      manifest: {
        peerDependencies: { pg: '^8.11.0', 'drizzle-orm': '^0.45.0', vitest: '>=3', typeorm: '^1.1.0' },
        devDependencies: { pg: '9.0.0', 'drizzle-orm': '0.46.1', vitest: '2.1.9', typeorm: '1.1.1' },
      },
    });
    const { code, stderr } = lint(pkgDir);
    expect(code).toBe(1);
    expect(stderr.split('\n').filter((line) => line.includes('outside its peer range'))).toEqual([
      '@outboxkit/outside-peer: devDependency pg@9.0.0 is outside its peer range ^8.11.0: the tests would run a version users cannot get',
      '@outboxkit/outside-peer: devDependency drizzle-orm@0.46.1 is outside its peer range ^0.45.0: the tests would run a version users cannot get',
      '@outboxkit/outside-peer: devDependency vitest@2.1.9 is outside its peer range >=3: the tests would run a version users cannot get',
    ]);
  });

  it('reports a LICENSE that is not the root one', () => {
    const pkgDir = fixture('other-license');
    writeFileSync(join(pkgDir, 'LICENSE'), 'Proprietary\n');
    const { code, stderr } = lint(pkgDir);
    expect(code).toBe(1);
    expect(stderr).toContain('@outboxkit/other-license: LICENSE differs from the repository root LICENSE');
  });

  it('requires the relay to take the packages it loads by URL scheme as optional peers, kept out of its types', () => {
    const optionalPackages = "export const OPTIONAL_PACKAGES = { postgres: ['@outboxkit/postgres', 'pg'], redis: ['@outboxkit/redis', 'redis'] };\n";
    const pkgDir = fixture('relay', {
      manifest: {
        dependencies: { pg: '8.23.1', '@outboxkit/postgres': '0.1.0' },
        peerDependencies: { '@outboxkit/redis': '^0.1.0', redis: '^6.3.0' },
        peerDependenciesMeta: { '@outboxkit/redis': { optional: true }, mysql2: { optional: true } },
        devDependencies: { '@outboxkit/redis': '0.1.0', redis: '6.3.1', pg: '8.23.1' },
      },
      files: {
        'dist/optional-packages.js': optionalPackages,
        'dist/brokers.d.ts': "export declare function loadRedis(): Promise<typeof import('@outboxkit/redis')>;\nexport type Pg = import('pg-types').X;\n",
      },
    });
    const { code, stderr } = lint(pkgDir);
    expect(code).toBe(1);
    const problems = stderr.split('\n').filter((line) => line.startsWith('@outboxkit/relay: '));
    expect(problems.sort()).toEqual(
      [
        '@outboxkit/relay: pg must be a peer dependency, not a dependency (the application brings its own)',
        '@outboxkit/relay: pg is loaded by URL scheme: make it an optional peer, not a dependency',
        '@outboxkit/relay: pg is loaded by URL scheme: declare it in peerDependencies and mark it optional in peerDependenciesMeta',
        '@outboxkit/relay: @outboxkit/postgres is loaded by URL scheme: make it an optional peer, not a dependency',
        '@outboxkit/relay: @outboxkit/postgres is loaded by URL scheme: declare it in peerDependencies and mark it optional in peerDependenciesMeta',
        "@outboxkit/relay: @outboxkit/postgres: pin it in devDependencies for the relay's own tests",
        '@outboxkit/relay: redis is loaded by URL scheme: declare it in peerDependencies and mark it optional in peerDependenciesMeta',
        '@outboxkit/relay: peerDependenciesMeta names mysql2, which is not a peer dependency',
        '@outboxkit/relay: dist/brokers.d.ts imports the optional peer @outboxkit/redis: an application without it cannot type-check against the relay (mark the export @internal)',
      ].sort(),
    );
  });
});
