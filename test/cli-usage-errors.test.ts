import { describe, expect, it } from 'vitest';
import { runCli } from './support/relay-process.js';

// docs/operations.md, "Exit codes": a command line the parser refuses exits 1 with `error: ...`
// and the usage; values outboxkit refuses exit 2 (relay-cli.test.ts, operations-cli.test.ts).
describe('outbox-relay: command lines the parser refuses', () => {
  const db = ['--database-url', 'sqlite:/nonexistent/outboxkit-usage.db'];
  it.each([
    [['status', '--bogus', ...db], /^error: unknown option '--bogus'/],
    [['bogus'], /^error: unknown command 'bogus'/],
    [['quarantine', 'skip', '0190b5a0-0000-7000-8000-000000000000', ...db], /^error: required option '--reason <why>' not specified/],
    [['run', '--batch-size', 'abc', ...db], /^error: option '--batch-size <n>' argument 'abc' is invalid/],
    [['run', '--poison-policy', 'drop', ...db], /^error: option '--poison-policy <policy>' argument 'drop' is invalid/],
  ])("%j exits 1 with the parser's message and the usage", async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toContain('Usage: outbox-relay');
  });
});
