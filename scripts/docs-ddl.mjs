// Keeps the DDL in docs/design.md identical to what `outbox-relay migrate --print` prints.
//   node scripts/docs-ddl.mjs          rewrite the blocks between <!-- ddl:NAME --> and <!-- /ddl -->
//   node scripts/docs-ddl.mjs --check  exit 1 when the docs are out of date (used by the tests)
import { readFileSync, writeFileSync } from 'node:fs';
import { createPostgresDialect } from '@outboxkit/postgres';
import { createMysqlDialect } from '@outboxkit/mysql';
import { createSqliteDialect } from '@outboxkit/sqlite';

const DIALECTS = { postgres: createPostgresDialect(), mysql: createMysqlDialect(), sqlite: createSqliteDialect() };
const file = new URL('../docs/design.md', import.meta.url);

export function ddlOf(dialect) {
  return dialect
    .migrations()
    .flatMap((m) => [`-- migration ${m.version}: ${m.name}`, ...m.statements.map((s) => `${s.trim().replace(/;$/, '')};`)])
    .join('\n\n');
}

const original = readFileSync(file, 'utf8');
const updated = original.replace(/<!-- ddl:(\w+) -->[\s\S]*?<!-- \/ddl -->/g, (_, name) => {
  const dialect = DIALECTS[name];
  if (!dialect) throw new Error(`docs/design.md names an unknown dialect block: ${name}`);
  return `<!-- ddl:${name} -->\n\`\`\`sql\n${ddlOf(dialect)}\n\`\`\`\n<!-- /ddl -->`;
});

if (process.argv.includes('--check')) {
  if (updated !== original) {
    console.error('docs/design.md DDL is out of date: run node scripts/docs-ddl.mjs');
    process.exit(1);
  }
  console.log('docs/design.md DDL matches the migrations');
} else {
  writeFileSync(file, updated);
}
