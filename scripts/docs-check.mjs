// Type-checks the TypeScript snippets of the docs against the built packages, so the docs cannot
// drift from the API. Run by `pnpm lint` (after `pnpm build`); the conventions are in docs/testing.md.
//
//   node scripts/docs-check.mjs                       README.md and docs/*.md
//   node scripts/docs-check.mjs [--out <dir>] <file.md>...
//
// Every ```ts (or ```typescript) block is one of:
//   ```ts                  a complete module: written to <out>/<page>/snippet-<line>.ts and type-checked
//   ```ts file=prisma.ts   the same, saved as <out>/<page>/prisma.ts, so other snippets of the page
//                          can `import { prisma } from './prisma.js'` the way an app's modules do
//   ```ts partial          a deliberate fragment: checked for syntax only
// `<!-- docs-check: file=app.ts ... -->` is a hidden module of the page: the reader's own app code a
// snippet imports (its models, its client), not shown. Imports of `./generated/prisma/client.js`
// resolve to a client generated from packages/prisma/test/schemas/postgresql.prisma.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const FENCE = /^(\s*)(`{3,}|~{3,})\s*(\S*)\s*(.*)$/;
const DIRECTIVE = /^\s*<!--\s*docs-check:\s*(\S*)/;
/** `file=<name>.ts`: a snippet's (or hidden module's) file name in its page's folder. */
const FILE = /^file=([\w.-]+\.ts)$/;
const TS_LANGS = new Set(['ts', 'typescript']);

/** The ```ts blocks and hidden modules of one markdown file, with their attributes. */
export function extractSnippets(path, text) {
  const lines = text.split('\n');
  const snippets = [];
  const problems = [];
  for (let i = 0; i < lines.length; i++) {
    const directive = DIRECTIVE.exec(lines[i]);
    if (directive) {
      const file = FILE.exec(directive[1]);
      const end = lines.findIndex((line, j) => j >= i && line.includes('-->'));
      if (!file || end === -1) {
        problems.push(`${path}:${i + 1}: expected <!-- docs-check: file=<name>.ts ... --> (a hidden module of the page), got "${directive[1]}"`);
        continue;
      }
      const body = lines.slice(i + 1, end);
      if (lines[end].trim() !== '-->') problems.push(`${path}:${end + 1}: end the hidden module with --> on a line of its own`);
      snippets.push({ path, line: i + 1, code: body.join('\n'), partial: false, file: file[1], hidden: true });
      i = end;
      continue;
    }
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    const [, indent, fence, lang, info] = open;
    const close = lines.findIndex((line, j) => j > i && new RegExp(`^\\${fence[0]}{${fence.length},}\\s*$`).test(line.trim()));
    const end = close === -1 ? lines.length : close;
    if (TS_LANGS.has(lang)) {
      const attributes = parseAttributes(info);
      if (attributes.problem) problems.push(`${path}:${i + 1}: ${attributes.problem}`);
      // A fence inside a list item is indented; its lines carry the same indentation.
      const code = lines.slice(i + 1, end).map((line) => (line.startsWith(indent) ? line.slice(indent.length) : line.trimStart()));
      snippets.push({ path, line: i + 1, code: code.join('\n'), ...attributes, hidden: false });
    }
    i = end;
  }
  return { snippets, problems };
}

function parseAttributes(info) {
  const attributes = { partial: false, file: undefined, problem: undefined };
  for (const word of info.split(/\s+/).filter(Boolean)) {
    if (word === 'partial') attributes.partial = true;
    else if (FILE.test(word)) attributes.file = FILE.exec(word)[1];
    else attributes.problem = `unknown snippet attribute "${word}"; use partial or file=<name>.ts`;
  }
  if (attributes.partial && attributes.file) attributes.problem = 'a partial snippet cannot be a file other snippets import';
  return attributes;
}

/**
 * A node_modules the snippets resolve from: every workspace package by its name plus every
 * dependency any package has (the docs import ORMs that only the plugin packages depend on).
 */
function linkModules(out) {
  const target = join(out, 'node_modules');
  mkdirSync(target, { recursive: true });
  const link = (name, dir) => {
    const at = join(target, name);
    if (existsSync(at)) return;
    mkdirSync(dirname(at), { recursive: true });
    symlinkSync(dir, at, 'dir');
  };
  const packages = readdirSync(join(root, 'packages')).map((dir) => join(root, 'packages', dir));
  for (const dir of packages) {
    if (existsSync(join(dir, 'package.json'))) link(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name, dir);
  }
  for (const modules of [join(root, 'node_modules'), ...packages.map((dir) => join(dir, 'node_modules'))]) {
    if (!existsSync(modules)) continue;
    for (const entry of readdirSync(modules)) {
      if (entry.startsWith('.')) continue;
      if (!entry.startsWith('@')) link(entry, join(modules, entry));
      else for (const scoped of readdirSync(join(modules, entry))) link(`${entry}/${scoped}`, join(modules, entry, scoped));
    }
  }
}

const PRISMA_CLIENT = join(root, 'packages', 'prisma', 'test', 'generated', 'postgresql', 'client.js');

/** Writes the snippets as modules; returns, per written file, how its lines map back to the docs. */
function writeModules(out, snippets, problems) {
  const files = new Map();
  for (const snippet of snippets.filter((s) => !s.partial)) {
    const page = join(out, relative(root, resolve(snippet.path)).replace(/\.md$/i, '').replace(/[\\/]/g, '__'));
    const file = join(page, snippet.file ?? `snippet-${snippet.line}.ts`);
    if (files.has(file)) {
      problems.push(`${snippet.path}:${snippet.line}: another snippet of this page is already file=${snippet.file}`);
      continue;
    }
    mkdirSync(page, { recursive: true });
    // `export {}` makes even an import-free snippet a module: top-level await, no global names.
    writeFileSync(file, `${snippet.code}\nexport {};\n`);
    const client = join(page, 'generated', 'prisma', 'client.ts');
    if (!existsSync(client)) {
      mkdirSync(dirname(client), { recursive: true });
      writeFileSync(client, `export * from '${relative(dirname(client), PRISMA_CLIENT).replace(/\\/g, '/')}';\n`);
    }
    files.set(file, snippet);
  }
  return files;
}

function compilerOptions(out) {
  const base = ts.readConfigFile(join(root, 'tsconfig.base.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(base.config, ts.sys, out);
  return { ...parsed.options, noEmit: true, composite: false, incremental: false, declaration: false, declarationMap: false, sourceMap: false };
}

/** Where a diagnostic in a written module is in the docs. */
function docsPosition(files, diagnostic) {
  const snippet = diagnostic.file && files.get(resolve(diagnostic.file.fileName));
  if (!snippet) return diagnostic.file ? relative(root, diagnostic.file.fileName) : '(tsc)';
  const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
  return `${snippet.path}:${snippet.line + 1 + line}${snippet.hidden ? ` (hidden module ${snippet.file})` : ''}`;
}

/** Checks the given markdown files; resolves to the problems found (empty: all good) and counts. */
export async function checkDocs(paths, { out = join(root, '.docs-check') } = {}) {
  const problems = [];
  const snippets = [];
  for (const path of paths) {
    const found = extractSnippets(path, readFileSync(path, 'utf8'));
    snippets.push(...found.snippets);
    problems.push(...found.problems);
  }
  for (const snippet of snippets.filter((s) => s.partial)) {
    const { diagnostics = [] } = ts.transpileModule(snippet.code, { reportDiagnostics: true, compilerOptions: { module: ts.ModuleKind.ESNext } });
    for (const d of diagnostics) {
      const { line } = ts.getLineAndCharacterOfPosition(ts.createSourceFile('x.ts', snippet.code, ts.ScriptTarget.Latest), d.start ?? 0);
      problems.push(`${snippet.path}:${snippet.line + 1 + line}: syntax: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    }
  }
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const files = writeModules(out, snippets, problems);
  if (files.size > 0) {
    if ([...files.values()].some((snippet) => snippet.code.includes('/generated/prisma/client.js'))) {
      const { generateTestClients } = await import('../packages/prisma/scripts/generate-test-clients.mjs');
      await generateTestClients();
    }
    linkModules(out);
    const program = ts.createProgram([...files.keys()], compilerOptions(out));
    for (const d of ts.getPreEmitDiagnostics(program)) {
      problems.push(`${docsPosition(files, d)}: TS${d.code} ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
    }
  }
  const shown = snippets.filter((s) => !s.hidden);
  return {
    problems,
    snippets: shown.length,
    typeChecked: shown.filter((s) => !s.partial).length,
    partial: shown.filter((s) => s.partial).length,
    hidden: snippets.length - shown.length,
  };
}

function defaultPaths() {
  const docs = readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .sort();
  return [join(root, 'README.md'), ...docs.map((name) => join(root, 'docs', name))].map((path) => relative(process.cwd(), path));
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const outAt = args.indexOf('--out');
  const out = outAt === -1 ? undefined : resolve(args.splice(outAt, 2)[1]);
  const paths = args.length > 0 ? args : defaultPaths();
  const result = await checkDocs(paths, out === undefined ? {} : { out });
  const summary =
    `${result.snippets} TypeScript snippet(s) in ${paths.length} file(s): ${result.typeChecked} type-checked, ` +
    `${result.partial} partial (syntax only); ${result.hidden} hidden app module(s)`;
  if (result.problems.length > 0) {
    for (const problem of result.problems) console.error(problem);
    console.error(`docs-check: ${result.problems.length} problem(s); ${summary}. Conventions: docs/testing.md ("Docs check")`);
    process.exit(1);
  }
  console.log(`docs-check: ${summary}`);
}
