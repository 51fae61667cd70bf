import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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

// Values the parser accepts but outboxkit refuses exit 2, and the message names the flag the
// user typed (`--batch-size`), never the library option behind it (`batchSize`).
describe('outbox-relay: refused flag values name the flag', () => {
  let dir: string;
  let db: string[];

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'okt-flags-'));
    db = ['--database-url', `sqlite:${join(dir, 'outbox.db')}`];
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    [['run', '--batch-size', '0'], '--batch-size', 'batchSize'],
    [['run', '--max-in-flight', '0'], '--max-in-flight', 'maxInFlight'],
    [['run', '--poll-interval-ms', '1'], '--poll-interval-ms', 'pollIntervalMs'],
    [['run', '--lease-ttl-ms', '1'], '--lease-ttl-ms', 'leaseTtlMs'],
    [['run', '--max-attempts', '0'], '--max-attempts', 'maxAttempts'],
    [['run', '--relay-id', ''], '--relay-id', 'relayId'],
    [['run', '--table-prefix', 'a b'], '--table-prefix', 'tables.prefix'],
    [['status', '--schema', 'a;b'], '--schema', 'tables.schema'],
    [['migrate', '--print', '--table-prefix', '1x'], '--table-prefix', 'tables.prefix'],
    [['run', '--exchange', 'a/b'], '--exchange', 'RabbitMQ exchange'],
    [['run', '--max-message-bytes', '0'], '--max-message-bytes', 'maxMessageBytes'],
    [['run', '--publish-timeout-ms', '0'], '--publish-timeout-ms', 'confirmTimeoutMs'],
    [['run', '--broker-url', 'nats://127.0.0.1:4222', '--nats-stream', 'a.b'], '--nats-stream', 'NATS stream'],
    [['run', '--broker-url', 'nats://127.0.0.1:4222', '--subject-prefix', 'a b'], '--subject-prefix', 'subjectPrefix'],
    [['run', '--broker-url', 'nats://127.0.0.1:4222', '--publish-timeout-ms', '0'], '--publish-timeout-ms', 'ackTimeoutMs'],
    [['run', '--broker-url', 'redis://127.0.0.1:6379', '--max-len', '0'], '--max-len', 'maxLength'],
    [['run', '--broker-url', 'redis://127.0.0.1:6379', '--publish-timeout-ms', '0'], '--publish-timeout-ms', 'replyTimeoutMs'],
    [['replay', '--since', '1h', '--exchange', 'a/b'], '--exchange', 'RabbitMQ exchange'],
  ])('%j exits 2 and says %s', async (args, flag, option) => {
    const result = await runCli([...args, ...db]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^outbox-relay: ${flag}: `));
    expect(result.stderr).not.toContain(option);
  });

  it.each([
    [
      ['run', '--message-format', 'xml'],
      /^outbox-relay: --message-format: "xml" is not a message format; use one of native, cloudevents-binary, cloudevents-structured/,
    ],
    [['run', '--message-format', 'cloudevents-binary'], /^outbox-relay: --cloudevents-source: is required with cloudevents-binary/],
    [['run', '--message-format', 'cloudevents-structured', '--cloudevents-source', 'a b'], /^outbox-relay: --cloudevents-source: "a b" is not a URI-reference/],
    [
      ['run', '--cloudevents-source', 'urn:example:shop'],
      /^outbox-relay: --cloudevents-source: is only used with cloudevents-binary or cloudevents-structured/,
    ],
    [
      ['run', '--broker-url', 'nats://127.0.0.1:4222', '--message-format', 'cloudevents', '--cloudevents-source', 'urn:example:shop'],
      /^outbox-relay: --message-format: "cloudevents" is not a message format/,
    ],
    [
      ['run', '--broker-url', 'sqs+http://127.0.0.1:1?region=us-east-1', '--message-format', 'cloudevents-binary', '--cloudevents-source', 'urn:example:shop'],
      /^outbox-relay: --message-format: cloudevents-binary is not available on SQS\/SNS: .* use cloudevents-structured/,
    ],
  ])('%j exits 2 and names the wire-format flag', async (args, message) => {
    const result = await runCli([...args, ...db]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/cloudEventsSource|(^|\s)format:/);
  });
});
