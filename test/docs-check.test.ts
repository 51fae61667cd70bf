import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// scripts/docs-check.mjs, which `pnpm lint` runs over README.md and docs/*.md, on pages written
// here: what it accepts, and that each kind of broken snippet fails it at the right line.
const root = fileURLToPath(new URL('..', import.meta.url));
const script = join(root, 'scripts', 'docs-check.mjs');
// Inside the repository: the snippets are ES modules because the root package.json says so.
const dir = mkdtempSync(join(root, '.docs-check-selftest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const fence = '```';
function page(name: string, lines: readonly string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

function check(...pages: string[]) {
  const result = spawnSync(process.execPath, [script, '--out', join(dir, 'out'), ...pages], { encoding: 'utf8', cwd: dir });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('docs check', () => {
  it('accepts complete snippets, page modules, hidden app modules and partial fragments', () => {
    const good = page('good.md', [
      '# A page',
      `${fence}ts file=events.ts`,
      "import { createEnvelope } from '@outboxkit/core';",
      "export const envelope = createEnvelope({ aggregateType: 'order', aggregateId: 1, type: 'OrderPlaced', payload: null });",
      fence,
      '<!-- docs-check: file=app.ts',
      'export const orderId: number = 7;',
      '-->',
      `${fence}ts`,
      "import { envelope } from './events.js';",
      "import { orderId } from './app.js';",
      'const shard: number = envelope.shard + orderId;',
      'await Promise.resolve(shard);',
      fence,
      `${fence}ts partial`,
      'relay.start(); // a fragment: `relay` is not defined here, and that is fine',
      fence,
      `${fence}sh`,
      'not typescript, not checked',
      fence,
    ]);
    const result = check(good);
    expect(result.stderr).toBe('');
    expect(result.stdout).toContain('3 TypeScript snippet(s) in 1 file(s): 2 type-checked, 1 partial (syntax only); 1 hidden app module(s)');
    expect(result.code).toBe(0);
  });

  it('fails on a type error, a broken partial, a broken hidden module and unknown markers, each at its line', () => {
    const broken = page('broken.md', [
      '# Broken',
      `${fence}ts`,
      "import { createEnvelope } from '@outboxkit/core';",
      'createEnvelope(42);',
      fence,
      `${fence}ts partial`,
      'const x = ;',
      fence,
      `${fence}ts partail`,
      'export {};',
      fence,
      '<!-- docs-check: contxt -->',
      '<!-- docs-check: file=app.ts',
      'export const n: string = 1;',
      '-->',
    ]);
    const result = check(broken);
    expect(result.code).toBe(1);
    const at = (line: number) => `${broken}:${line}:`;
    expect(result.stderr).toContain(`${at(4)} TS2345`);
    expect(result.stderr).toContain(`${at(7)} syntax:`);
    expect(result.stderr).toContain(`${at(9)} unknown snippet attribute "partail"`);
    expect(result.stderr).toContain(`${at(12)} expected <!-- docs-check: file=<name>.ts`);
    expect(result.stderr).toContain(`${broken}:14 (hidden module app.ts): TS2322`);
    expect(result.stderr).toMatch(/docs-check: 5 problem\(s\)/);
  });
});
