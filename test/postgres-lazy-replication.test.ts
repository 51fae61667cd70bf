import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

// `pg-logical-replication` is needed by `run --source logical` only; every application that
// writes events imports `@outboxkit/postgres`. A fresh Node process imports the package and
// lists the modules of pg-logical-replication in the CommonJS cache (where Node keeps a CommonJS
// package imported from ESM); then, as the control that the probe sees it when it IS loaded, runs
// a change stream (against a closed port: loading happens before connecting).
const probe = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const loaded = () => Object.keys(require.cache).filter((file) => file.includes('pg-logical-replication')).length;
const postgres = await import('@outboxkit/postgres');
const afterImport = loaded();
// The relay's connector too: \`outbox-relay run\` (polling) opens the database through it.
void postgres.relayConnector.logical;
const { ChangeStream } = await import(new URL('./packages/postgres/dist/cdc/change-stream.js', 'file://' + process.cwd() + '/').href);
const stream = new ChangeStream({ url: 'postgres://127.0.0.1:1/none', slot: 's', publication: 'p', schema: 'public', table: 't', onItem() {}, onKeepalive() {} });
await stream.run().catch(() => undefined);
console.log(JSON.stringify({ afterImport, afterStream: loaded() }));
`;

describe('@outboxkit/postgres loads pg-logical-replication lazily', () => {
  it('a plain import of the package (and its relay connector) does not load it; running a change stream does', async () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', probe], { cwd: root });
    const result = JSON.parse(stdout.trim()) as { afterImport: number; afterStream: number };
    expect(result.afterImport, 'modules of pg-logical-replication loaded by `import "@outboxkit/postgres"`').toBe(0);
    expect(result.afterStream, 'the probe sees the package once a stream runs').toBeGreaterThan(0);
  });
});
