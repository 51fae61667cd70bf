import { describe, expect, it } from 'vitest';
import { runCli } from './support/relay-process.js';

describe('outbox-relay operations commands: help and flag errors', () => {
  it.each([
    [['replay'], ['--id', '--aggregate', '--since', '--until', '--destination', '--dry-run', '--broker-url']],
    [
      ['quarantine', 'list'],
      ['--json', '--all'],
    ],
    [
      ['quarantine', 'retry'],
      ['--by', '--reason'],
    ],
    [
      ['quarantine', 'skip'],
      ['--by', '--reason'],
    ],
    [['reconcile'], ['--consumer', '--since', '--until', '--ids-file', '--replay']],
    [['cleanup'], ['--history-retention', '--inbox-retention', '--batch-size']],
  ])('%j --help lists its flags', async (command, flags) => {
    const result = await runCli([...command, '--help']);
    expect(result.code).toBe(0);
    for (const flag of ['--database-url', ...flags]) expect(result.stdout).toContain(flag);
  });

  const db = ['--database-url', 'postgres://u:s3cretpw@127.0.0.1:1/app'];
  it.each([
    [['replay', ...db], /--id\/--aggregate\/--since: say what to replay/],
    [['replay', '--aggregate', 'order', ...db], /--aggregate: "order" must be <aggregateType>:<aggregateId>/],
    [['replay', '--id', '42', ...db], /--id: "42" is not an event id/],
    [['replay', '--since', '2h', '--page-size', '0', ...db], /--page-size: must be an integer from 1 to 10000, got 0/],
    [['reconcile', '--since', '2h', ...db], /--consumer: is required/],
    [['reconcile', '--consumer', 'billing', ...db], /--since: is required/],
    [['reconcile', '--consumer', 'billing', '--since', '2h', '--ids-file', '/nonexistent/ids.txt', ...db], /--ids-file: cannot read/],
    [['cleanup', '--batch-size', '0', ...db], /--batch-size: must be an integer from 1 to 100000/],
    [['cleanup', '--inbox-retention', 'forever', ...db], /--inbox-retention: "forever" is not a duration/],
    [['quarantine', 'skip', '0190b5a0-0000-7000-8000-000000000000', '--reason', ' ', ...db], /--reason: is required for skip/],
  ])('%j exits 2 naming the flag, without the password', async (args, message) => {
    const result = await runCli(args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stdout + result.stderr).not.toContain('s3cretpw');
  });

  it('never shows the password of a database it cannot reach', async () => {
    const result = await runCli(['replay', '--since', '2h', '--dry-run', ...db]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/ECONNREFUSED|connect/);
    expect(result.stdout + result.stderr).not.toContain('s3cretpw');
  });
});
